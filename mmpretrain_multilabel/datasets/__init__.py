from .base_multilabel import MultiLabelBase
from .coco import CocoMultiLabel
from .demo_scenes import DEMO_CLASSES, DemoScenes, render_scene

__all__ = ['DEMO_CLASSES', 'DemoScenes', 'render_scene', 'CocoMultiLabel', 'MultiLabelBase']

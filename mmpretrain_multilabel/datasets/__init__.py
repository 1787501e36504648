from .demo_scenes import DEMO_CLASSES, DemoScenes, render_scene

__all__ = ['DEMO_CLASSES', 'DemoScenes', 'render_scene']

# NUS-WIDE, 81 concepts, ASL's / ML-Decoder's split (nus_wid_data.csv:
# ~119k train / ~50k val), 448 px, the paper's augmentation.
# For the NUS-WIDE release layout use layout='official' (docs/datasets.md).
_base_ = ['./multilabel_448.py']

dataset_type = 'NusWideMultiLabel'
data_root = 'data/nus_wide'
num_classes = 81

data_preprocessor = dict(num_classes=num_classes)

train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        layout='asl_csv',
        split='train',
        pipeline=_base_.train_pipeline),
)

val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        layout='asl_csv',
        split='val',
        test_mode=True,
        pipeline=_base_.test_pipeline),
)
test_dataloader = val_dataloader

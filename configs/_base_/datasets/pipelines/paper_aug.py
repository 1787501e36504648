# The paper's augmentation (Sec. 4.1; the authors' code): squash-resize to a
# square, horizontal flip, RandAugment, Cutout with a hole of 0.4 x the image
# side applied with p 0.5. Test: squash-resize only (ASL, ML-Decoder, Q2L).
# Children change the resolution by rebuilding the Resize steps (vg500_576.py).
img_size = 448

# BGR mean of the images: fill value of RandAugment's geometric ops and Cutout
bgr_mean = [103.53, 116.28, 123.675]

train_pipeline = [
    # LoadImageFromFile with clear errors for missing / corrupt images
    dict(type='CheckedLoadImageFromFile'),
    dict(type='Resize', scale=(img_size, img_size)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='RandAugment',
        policies='timm_increasing',
        num_policies=2,
        total_level=10,
        magnitude_level=9,
        magnitude_std=0.5,
        hparams=dict(pad_val=[round(x) for x in bgr_mean])),
    # MMPretrain's Cutout with the hole size relative to the image side
    dict(
        type='RelativeCutout',
        factor=0.4,
        prob=0.5,
        pad_val=[round(x) for x in bgr_mean]),
    dict(type='PackInputs'),
]

test_pipeline = [
    dict(type='CheckedLoadImageFromFile'),
    dict(type='Resize', scale=(img_size, img_size)),
    dict(type='PackInputs'),
]

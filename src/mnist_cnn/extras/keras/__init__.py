"""Extra: the Keras importer. `python from_keras.py keras_model=m.keras output=m.ckpt` reads a
.keras, .weights.h5 or legacy .h5 file as data (no Keras, no code from the file) and writes a
checkpoint of MnistCNN; `pip install -e ".[keras]"` (h5py). See docs/keras.md."""

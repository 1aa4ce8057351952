"""Qt-free compute side of the pix2pixHD editor: networks, data, training and rendering."""

"""Models: the plain networks and the LightningModule that trains them."""

from mnist_cnn.models.cnn import MnistCNN
from mnist_cnn.models.module import MnistLitModule

# The networks a checkpoint may name as model.net._target_; nothing else is built from a file.
# Your own network: import its class above and add it here (see "Make it yours").
NETWORKS = (MnistCNN,)

__all__ = ["NETWORKS", "MnistCNN", "MnistLitModule"]

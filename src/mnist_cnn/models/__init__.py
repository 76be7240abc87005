"""Models: the plain networks and the LightningModule that trains them."""

from mnist_cnn.models.cnn import MnistCNN
from mnist_cnn.models.module import MnistLitModule

# The networks this project trains, evaluates and exports; a checkpoint of any other is refused.
# Add your own network class here.
NETWORKS = (MnistCNN,)

__all__ = ["NETWORKS", "MnistCNN", "MnistLitModule"]

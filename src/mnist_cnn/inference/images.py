"""Any PNG/JPEG, PIL image, array or tensor → a 28x28 grey digit made the way MNIST was made.

MNIST digits are white on black, scaled to fit a 20x20 box and centred by their centre of mass
in a 28x28 image. Images already at the model's input size are taken as they are (after
inversion); others are cropped to their ink, scaled into the box and centred likewise.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

# A 40-megapixel photo decodes to 160 MB of RGBA; anything larger is refused unread.
MAX_PIXELS = 40_000_000
_INK_THRESHOLD = 32  # grey levels above this count as ink when cropping to the digit


class ImageError(ValueError):
    """An input that is not a readable, safely sized PNG or JPEG image."""


def open_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode a PNG or JPEG completely, refusing other formats, damage and decompression bombs."""
    try:
        file = open(path, "rb")  # noqa: SIM115 (closed by the with-block below)
    except OSError as err:
        raise ImageError(f"cannot be read ({err.strerror or err})") from err
    with file, warnings.catch_warnings():
        # Pillow only warns between its limit and twice its limit; refuse both outright.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = _pillow(Image.open, file, formats=("PNG", "JPEG"))  # reads the header only
        width, height = image.size
        if width * height > max_pixels:
            raise ImageError(
                f"{width}x{height} pixels is over the limit of {max_pixels:,} "
                f"(a decompression bomb?); raise max_pixels if the file is trusted"
            )
        _pillow(image.load)  # decode now, so truncation and corruption show here
    return image


def _pillow(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a Pillow call, turning its many error types into an ImageError with the reason."""
    try:
        return call(*args, **kwargs)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageError(f"too large to decode safely (a decompression bomb?): {err}") from err
    except UnidentifiedImageError as err:
        raise ImageError("not a PNG or JPEG image") from err
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise ImageError(f"corrupt or truncated image ({type(err).__name__}: {err})") from err


def as_pil(image: Image.Image | np.ndarray | torch.Tensor) -> Image.Image:
    """A PIL image from an array or tensor (H, W), (1, H, W) or (H, W, 3); floats are [0, 1]."""
    if isinstance(image, Image.Image):
        return image
    array = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    if array.ndim == 3 and array.shape[0] in (1, 3):  # channels first, as in PyTorch
        array = np.moveaxis(array, 0, -1)
    array = array.squeeze(-1) if array.ndim == 3 and array.shape[-1] == 1 else array
    if array.ndim not in (2, 3):
        raise ImageError(f"array of shape {image.shape}: expected (H, W), (1, H, W) or (H, W, 3)")
    if array.dtype != np.uint8:
        array = np.rint(np.clip(array.astype(np.float64), 0.0, 1.0) * 255).astype(np.uint8)
    return Image.fromarray(array)


def is_dark_on_light(grey: Image.Image) -> bool:
    """True when the border (one pixel all round) is mostly light: ink on paper, not MNIST."""
    array = np.asarray(grey)
    border = np.concatenate([array[0], array[-1], array[:, 0], array[:, -1]])
    return float(border.mean()) > 127


def to_mnist(
    image: Image.Image, size: tuple[int, int] = (28, 28), invert: bool | None = None
) -> torch.Tensor:
    """uint8 tensor (1, H, W), white digit on black; `invert=None` inverts dark-on-light images."""
    if "A" in image.getbands() or "transparency" in image.info:
        # Transparent pixels become paper (white), the usual background of a drawn digit.
        paper = Image.new("RGBA", image.size, "white")
        image = Image.alpha_composite(paper, image.convert("RGBA"))
    grey = ImageOps.grayscale(image) if image.mode != "L" else image
    if invert or (invert is None and is_dark_on_light(grey)):
        grey = ImageOps.invert(grey)
    height, width = size
    if grey.size != (width, height):
        grey = _fit_and_centre(grey, width, height)
    return torch.from_numpy(np.array(grey, dtype=np.uint8)).unsqueeze(0)


def _fit_and_centre(grey: Image.Image, width: int, height: int) -> Image.Image:
    # MNIST's recipe: the ink's bounding box scaled into a 20/28 box, centre of mass centred.
    canvas = Image.new("L", (width, height), 0)
    ink_box = grey.point(lambda level: 255 if level > _INK_THRESHOLD else 0).getbbox()
    if ink_box is None:
        return canvas  # a blank image stays blank
    box = (round(width * 20 / 28), round(height * 20 / 28))
    digit = ImageOps.contain(grey.crop(ink_box), box, Image.Resampling.LANCZOS)
    array = np.asarray(digit, dtype=np.float64)
    rows, columns = np.indices(array.shape)
    mass = array.sum() or 1.0
    centre_y, centre_x = (rows * array).sum() / mass, (columns * array).sum() / mass
    left = int(np.clip(round(width / 2 - centre_x), 0, width - digit.width))
    top = int(np.clip(round(height / 2 - centre_y), 0, height - digit.height))
    canvas.paste(digit, (left, top))
    return canvas

"""Guess the original: a side-by-side test of "visually lossless" (notebook 06)."""

from __future__ import annotations

import html
import io

import numpy as np

from .display import _display, described_image


class GuessTheOriginal:
    """Which of two digits is the original? A side-by-side test of "visually lossless".

    Each round shows one digit and its reconstruction side by side, in random
    order; the learner clicks the side they think is the original. If people
    pick the original no more often than chance (50 %), the difference is
    below the just-noticeable difference at this setting: visually lossless
    for them, in side-by-side viewing. :attr:`p_value` says how likely random
    guessing is to get at least as many right.

    Args:
        originals: uint8 digits ``(n, 28, 28)``.
        reconstructions: Their reconstructions, uint8, same shape, same order.
        seed: Seed of the digit and side draws.
        zoom: Screen pixels per image pixel.

    Attributes:
        left_button, right_button: Click the side you think is the original.
        image: ``ipywidgets.Image``: the current pair (PNG).
        stats: ``ipywidgets.HTML``: rounds played, right guesses and the verdict.
        rounds, correct: The score so far.
        index: The digit shown now; original_side: where its original is ("left" or "right").
        widget: The whole game as one ``ipywidgets.VBox``.

    Example:
        >>> game = widgets.GuessTheOriginal(x_test[:500], decoded)   # doctest: +SKIP
        >>> game                                                       # doctest: +SKIP
    """

    SIDES = ("left", "right")

    def __init__(self, originals, reconstructions, *, seed: int = 0, zoom: int = 6):
        import ipywidgets as w

        originals, reconstructions = np.asarray(originals), np.asarray(reconstructions)
        if (originals.dtype != np.uint8 or reconstructions.dtype != np.uint8 or originals.ndim != 3
                or originals.shape != reconstructions.shape or len(originals) == 0):  # fmt: skip
            raise ValueError(
                "originals and reconstructions must be non-empty uint8 arrays of the same shape (n, H, W). "
                f"Received: {originals.dtype} {originals.shape} and {reconstructions.dtype} {reconstructions.shape}"
            )
        self.originals, self.reconstructions, self.zoom = originals, reconstructions, zoom
        self._rng = np.random.default_rng(seed)
        self.rounds = self.correct = 0
        self.index, self.original_side, self.last = None, None, ""
        self.left_button = w.Button(description="left is the original", layout=w.Layout(width="14em"))
        self.right_button = w.Button(description="right is the original", layout=w.Layout(width="14em"))
        self.left_button.on_click(lambda _: self.guess("left"))
        self.right_button.on_click(lambda _: self.guess("right"))
        self.image = described_image(format="png")
        self.stats = w.HTML()
        self.widget = w.VBox([self.image, w.HBox([self.left_button, self.right_button]), self.stats])
        self.next_pair()

    def next_pair(self) -> None:
        """Draw a new digit and a new random side for its original, and show the pair."""
        self.index = int(self._rng.integers(len(self.originals)))
        self.original_side = self.SIDES[int(self._rng.integers(2))]
        pair = (self.originals[self.index], self.reconstructions[self.index])
        if self.original_side == "right":
            pair = pair[::-1]
        self.image.value = self._pair_png(*pair)
        h, wd = self.originals.shape[1:]
        self.image.tooltip = (  # the picture's text (title in JupyterLab, alt text on the site); not the answer
            f"Two {wd}×{h} digits side by side, enlarged {self.zoom} times: test digit {self.index} and its "
            "reconstruction, in random order. Which one is the original?"
        )
        self.stats.value = self._stats_html()

    def guess(self, side: str) -> bool:
        """Record a guess ("left" or "right") for the current pair, show the next; True if it was right."""
        if side not in self.SIDES:
            raise ValueError(f"side must be 'left' or 'right'. Received: side={side!r}")
        right = side == self.original_side
        self.rounds += 1
        self.correct += right
        self.last = f"{'Right' if right else 'Wrong'}: the original of digit {self.index} was on the {self.original_side}."
        self.next_pair()
        return right

    @property
    def p_value(self) -> float:
        """Probability that guessing at random gets at least :attr:`correct` of :attr:`rounds` right."""
        from math import comb

        n = self.rounds
        return sum(comb(n, k) for k in range(self.correct, n + 1)) / 2**n

    def verdict(self) -> str:
        """The score in words, with what it says about visual losslessness."""
        if self.rounds < 10:
            return f"{self.correct} of {self.rounds} right so far: play at least 10 rounds (20 is better)."
        score = (f"{self.correct} of {self.rounds} right ({self.correct / self.rounds:.0%}); "
                 f"random guessing does at least as well with probability {self.p_value:.3f}")  # fmt: skip
        if self.p_value < 0.05:
            return f"{score}: you can tell them apart, so this setting is not visually lossless for you."
        return f"{score}: no evidence you can tell them apart: this setting looks visually lossless to you."

    def _stats_html(self) -> str:
        return f"<p>{html.escape(self.last)}</p><p><b>{html.escape(self.verdict())}</b></p>"

    def _pair_png(self, left, right) -> bytes:
        from PIL import Image

        h, wd = left.shape
        gap = 4 * self.zoom
        canvas = Image.new("L", (2 * wd * self.zoom + gap, h * self.zoom), 255)
        for i, digit in enumerate((left, right)):
            big = Image.fromarray(digit).resize((wd * self.zoom, h * self.zoom), Image.NEAREST)
            canvas.paste(big, (i * (wd * self.zoom + gap), 0))
        buffer = io.BytesIO()
        canvas.save(buffer, format="PNG")
        return buffer.getvalue()

    def _ipython_display_(self):
        _display(self.widget)

"""The on-screen window (``--show``): ``cv2.imshow`` when a display exists; ``q`` or Esc quits.

Whether a display exists is decided before opening anything: on Linux a window needs
``$DISPLAY`` (X11, also XWayland) or ``$WAYLAND_DISPLAY``; a Jetson or a Pi reached over SSH
has neither, and ``cv2.imshow`` would then abort the process from inside GTK/Qt instead of
raising. An OpenCV built without a GUI (``opencv-python-headless``) raises ``cv2.error`` on the
first ``imshow``; that becomes a one-line error pointing at ``--web``.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, Mapping, Optional, Tuple

from edgemnist.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

#: keys that close the window: q, Q, Esc
QUIT_KEYS = (ord("q"), ord("Q"), 27)
NO_DISPLAY_HINT = (
    "watch in a browser instead with --web 127.0.0.1:8080 (or --web 0.0.0.0:8080 from another "
    "machine), or run headless with --no-show"
)


def display_available(
    env: Optional[Mapping[str, str]] = None, platform: Optional[str] = None
) -> Tuple[bool, str]:
    """Whether a window can be shown here, and if not, why.

    Args:
        env: the environment to look at (default ``os.environ``).
        platform: ``sys.platform`` (default: this one); Windows and macOS always have one.

    Returns:
        ``(True, "")`` or ``(False, reason)``.
    """
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux"):
        return True, ""
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return True, ""
    return False, "no display ($DISPLAY and $WAYLAND_DISPLAY are unset, e.g. over SSH)"


class Window:
    """One OpenCV window.

    Args:
        title: the window title.

    Example:
        >>> with Window("edgemnist live") as win:  # doctest: +SKIP
        ...     keep_going = win.show(image)
    """

    def __init__(self, title: str = "edgemnist live") -> None:
        self.title = title
        self.opened = False
        self.closed_by_user = False

    def show(self, image: np.ndarray) -> bool:
        """Show ``image``; False once the user pressed q / Esc or closed the window.

        Raises:
            ConfigError: this OpenCV has no GUI support (headless build).
        """
        import cv2

        try:
            if not self.opened:
                cv2.namedWindow(self.title, cv2.WINDOW_AUTOSIZE)
                self.opened = True
            cv2.imshow(self.title, image)
            key = cv2.waitKey(1) & 0xFF
        except cv2.error as exc:
            raise ConfigError(
                f"this OpenCV cannot open a window ({_first_line(exc)}): {NO_DISPLAY_HINT}"
            ) from None
        if key in QUIT_KEYS:
            self.closed_by_user = True
        elif cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:
            self.closed_by_user = True  # closed with the window manager's button
        return not self.closed_by_user

    def close(self) -> None:
        """Destroy the window (safe to call twice)."""
        if self.opened:
            import cv2

            try:
                cv2.destroyWindow(self.title)
                cv2.waitKey(1)  # let the GUI thread process the destroy
            except cv2.error:
                pass
            self.opened = False

    def __enter__(self) -> Window:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1].strip() if text else type(exc).__name__


def decide_show(show: Optional[bool], web: bool) -> Tuple[bool, Optional[str]]:
    """Resolve ``--show/--no-show`` (None: automatic) against the display.

    Returns:
        ``(show, note)``: whether to open a window, and a message for the user (or None).

    Raises:
        ConfigError: ``--show`` was asked for and there is no display.
    """
    ok, why = display_available()
    if show is True and not ok:
        raise ConfigError(f"--show: {why}; {NO_DISPLAY_HINT}")
    if show is None:
        if ok:
            return True, None
        if web:
            return False, None
        return False, f"{why}: running headless; {NO_DISPLAY_HINT}"
    return bool(show), None

#!/usr/bin/env bash
# Prepare a Raspberry Pi 4/5 (Raspberry Pi OS Bookworm, 64-bit) for edgemnist.
# Untested by CI (needs the board).
set -euo pipefail
[ "$(uname -m)" = aarch64 ] || { echo "error: needs 64-bit Raspberry Pi OS (aarch64)" >&2; exit 1; }
sudo apt-get update
# Picamera2 for camera modules (libcamera); OpenCV from Debian.
sudo apt-get install -y python3-venv python3-picamera2 python3-opencv
python3 -m venv --system-site-packages "$HOME/edgemnist-venv"
"$HOME/edgemnist-venv/bin/pip" install --upgrade pip
# onnxruntime 1.21.0 crashed with "Illegal instruction" on the Pi 4: require a later one.
"$HOME/edgemnist-venv/bin/pip" install "edgemnist" "onnxruntime>=1.22"
echo "done: run $HOME/edgemnist-venv/bin/edgemnist doctor"

#!/usr/bin/env bash
# Prepare a Jetson Orin (JetPack 5.x / 6.x) for edgemnist. Untested by CI (needs the board).
set -euo pipefail
[ -f /etc/nv_tegra_release ] || { echo "error: not a Jetson" >&2; exit 1; }
sudo apt-get update
sudo apt-get install -y python3-venv python3-pip
# --system-site-packages: JetPack's tensorrt and OpenCV (with GStreamer) stay visible.
python3 -m venv --system-site-packages "$HOME/edgemnist-venv"
"$HOME/edgemnist-venv/bin/pip" install --upgrade pip
"$HOME/edgemnist-venv/bin/pip" install "edgemnist[ort]"
sudo nvpmodel -m 0 || true
echo "done: run $HOME/edgemnist-venv/bin/edgemnist doctor"

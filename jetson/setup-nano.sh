#!/usr/bin/env bash
# Prepare an original Jetson Nano (JetPack 4.6.x, L4T r32.7) for edgemnist.
# Run as a user with sudo. Idempotent. Untested by CI (needs the board).
set -euo pipefail

if [ ! -f /etc/nv_tegra_release ]; then
  echo "error: not a Jetson (no /etc/nv_tegra_release)" >&2; exit 1
fi
echo "L4T: $(head -n1 /etc/nv_tegra_release)"

# 1. Swap: 4 GB file, so engine builds are not killed for lack of memory.
if ! swapon --show | grep -q /swapfile; then
  sudo fallocate -l 4G /swapfile && sudo chmod 600 /swapfile
  sudo mkswap /swapfile && sudo swapon /swapfile
  grep -q '^/swapfile' /etc/fstab || echo '/swapfile none swap sw 0 0' | sudo tee -a /etc/fstab
fi
# 2. zram off: it competes with the build for RAM.
sudo systemctl disable --now nvzramconfig 2>/dev/null || true
# 3. Desktop off (frees ~1 GB); `sudo systemctl set-default graphical.target` undoes it.
sudo systemctl set-default multi-user.target
# 4. Python 3.8 beside the system 3.6 (TensorRT's bindings stay 3.6-only: use --builder trtexec).
sudo apt-get update
sudo apt-get install -y python3.8 python3.8-venv python3.8-dev
python3.8 -m venv --system-site-packages "$HOME/edgemnist-venv"
"$HOME/edgemnist-venv/bin/pip" install --upgrade pip
"$HOME/edgemnist-venv/bin/pip" install "edgemnist[ort]"
# 5. Max performance mode for benchmarks.
sudo nvpmodel -m 0 || true
echo "done: reboot once, then run: $HOME/edgemnist-venv/bin/edgemnist doctor"

#!/bin/bash -e
# Inside the image (pi-gen feeds this to bash in the chroot): the same installer as on a running Pi.
# Packages came from 00-packages; nothing can be started in a chroot, so only enable.
bash /tmp/hotline-src/scripts/install.sh --source /tmp/hotline-src --no-apt --no-start
systemctl enable avahi-daemon.service
rm -rf /tmp/hotline-src

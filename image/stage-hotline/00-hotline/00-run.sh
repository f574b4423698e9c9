#!/bin/bash -e
# Host side: put the repository snapshot into the image and name the box hotline (hotline.local).
# pi-gen runs this from the sub-stage directory with ROOTFS_DIR set.
: "${ROOTFS_DIR:?pi-gen sets ROOTFS_DIR}"

rm -rf "${ROOTFS_DIR}/tmp/hotline-src"
install -d "${ROOTFS_DIR}/tmp/hotline-src"
tar -C "${ROOTFS_DIR}/tmp/hotline-src" -xf files/hotline-src.tar

echo hotline > "${ROOTFS_DIR}/etc/hostname"
if grep -q '^127\.0\.1\.1' "${ROOTFS_DIR}/etc/hosts"; then
    sed -i 's/^127\.0\.1\.1.*/127.0.1.1\thotline/' "${ROOTFS_DIR}/etc/hosts"
else
    printf '127.0.1.1\thotline\n' >> "${ROOTFS_DIR}/etc/hosts"
fi

#!/usr/bin/env bash
# Builds the pipeline benchmark's disk: a 2 GiB (virtual) qcow2 with one MBR partition filling the disk,
# holding an ext4 filesystem with the clean Debian 12 root of test/fixtures/make-debian-image.sh plus
# FILLER_MIB MiB of incompressible filler (a few large files and many small ones), so the filesystem
# looks like a used OS disk rather than a nearly empty one. Random rather than zero filler on purpose:
# qemu-img skips zero clusters, which would make the conversion look cheaper than on a real image.
# Usage: make-pipeline-image.sh OUT.qcow2 [FILLER_MIB]. Needs root (debootstrap, ownership in the image).
set -euo pipefail
OUT=$1
FILLER_MIB=${2:-768}
DISK_MIB=2048
here=$(cd "$(dirname "$0")" && pwd)

work=$(mktemp -d "$(dirname "$OUT")/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
bash "$here/../test/fixtures/make-debian-image.sh" "$work/debian" >"$work/log" 2>&1 \
  || { tail -n 20 "$work/log" >&2; exit 1; }
root="$work/debian/clean"

# Large files: 16 MiB each, about three quarters of the filler.
big=$(( FILLER_MIB * 3 / 4 / 16 ))
mkdir -p "$root/opt/bench-data/big" "$root/opt/bench-data/small"
head -c "$(( big * 16 ))M" /dev/urandom | split -b 16M -a 3 -d - "$root/opt/bench-data/big/blob-"
# Small files: 32 KiB each, the rest of the filler, spread over directories of 256 entries.
small=$(( (FILLER_MIB - big * 16) * 32 ))
head -c "$(( small * 32 ))K" /dev/urandom | split -b 32K -a 5 -d - "$root/opt/bench-data/small/f-"
(
  cd "$root/opt/bench-data/small"
  i=0
  for f in f-*; do
    d=$(printf 'd%03d' $(( i / 256 )))
    [ $(( i % 256 )) -eq 0 ] && mkdir "$d"
    mv "$f" "$d/"
    i=$(( i + 1 ))
  done
)

# The partition starts at 1 MiB and runs to the end of the 2 GiB disk.
part_mib=$(( DISK_MIB - 1 ))
mke2fs -q -t ext4 -E root_owner=0:0 -d "$root" -L rootfs -F "$work/fs.ext4" "${part_mib}M"
truncate -s "${DISK_MIB}M" "$work/disk.raw"
printf 'label: dos\nstart=2048, size=%d, type=83, bootable\n' $(( part_mib * 2048 )) | sfdisk -q "$work/disk.raw"
dd if="$work/fs.ext4" of="$work/disk.raw" bs=1M seek=1 conv=notrunc,sparse status=none
qemu-img convert -f raw -O qcow2 "$work/disk.raw" "$work/disk.qcow2"
mv "$work/disk.qcow2" "$OUT"
echo "built $OUT" >&2

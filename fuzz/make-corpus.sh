#!/usr/bin/env bash
# Builds the seed corpus of the fuzz targets.
#
#   make-corpus.sh [--images-only] [OUT]      (OUT defaults to fuzz/corpus)
#
# probe: a small image of every format the probe knows, made with the real tools, cut to its
# first 128 KiB (where every superblock the probe reads lives; 192 KiB for UDF). Then, unless --images-only,
# the seeds made in code (frames and command lines for every operation, an LVM2 label) via
# `cargo run --example write-seeds`, and the committed seeds of the guest-file targets
# (seeds/TARGET). The corpus itself is not committed: it is rebuilt on demand, and the stable
# harness (`cargo test`) runs this script itself when it needs to.
set -euo pipefail

images_only=false
if [[ ${1:-} == --images-only ]]; then
    images_only=true
    shift
fi
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/corpus}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PATH="$PATH:/usr/sbin:/sbin"

need() {
    command -v "$1" >/dev/null || {
        echo "make-corpus.sh: '$1' is missing: apt-get install $2 (see scripts/apt-packages.txt)" >&2
        exit 1
    }
}
need mkfs.ext4 e2fsprogs
need mkfs.xfs xfsprogs
need mkfs.btrfs btrfs-progs
need mkfs.vfat dosfstools
need mkfs.exfat exfatprogs
need mkntfs ntfs-3g
need xorriso xorriso
need mkswap util-linux
need cryptsetup cryptsetup-bin
need mksquashfs squashfs-tools
need sgdisk gdisk
need sfdisk fdisk
need mkudffs udftools

mkdir -p "$out/probe"
# img NAME SIZE: a sparse image to format.
img() { rm -f "$work/$1"; truncate -s "$2" "$work/$1"; echo "$work/$1"; }
# seed NAME [BYTES]: keep the image's first 128 KiB (or BYTES).
seed() { head -c "${2:-131072}" "$work/$1" >"$out/probe/$1"; }
# quiet CMD...: run it, showing its output only when it fails.
quiet() { "$@" >"$work/log" 2>&1 || { cat "$work/log" >&2; echo "make-corpus.sh: failed: $*" >&2; exit 1; }; }

quiet mkfs.ext2 -q -F -L ext2-label "$(img ext2 8M)"; seed ext2
quiet mkfs.ext3 -q -F -L ext3-label "$(img ext3 8M)"; seed ext3
quiet mkfs.ext4 -q -F -L ext4-label "$(img ext4 8M)"; seed ext4
quiet mkfs.ext4 -q -F -b 4096 -O 64bit,^has_journal "$(img ext4-64bit 32M)"; seed ext4-64bit
quiet mkfs.xfs -q -f -L xfs-label "$(img xfs 300M)"; seed xfs
quiet mkfs.btrfs -q -f -L btrfs-label "$(img btrfs 128M)"; seed btrfs
quiet mkfs.vfat -F 12 -n FAT12LABEL "$(img fat12 2M)"; seed fat12
quiet mkfs.vfat -F 16 -n FAT16LABEL "$(img fat16 32M)"; seed fat16
quiet mkfs.vfat -F 32 -n FAT32LABEL "$(img fat32 64M)"; seed fat32
# A 4 KiB boundary keeps the exFAT root directory, and small volumes keep NTFS's MFT, within
# the first 128 KiB, so the label walks are part of the seeds.
quiet mkfs.exfat -b 4096 -L exfat-label "$(img exfat 8M)"; seed exfat
quiet mkntfs -q -F -Q -c 4096 -L ntfs-label "$(img ntfs 8M)"; seed ntfs
quiet mkswap -L swap-label "$(img swap 1M)"; seed swap
for v in 1 2; do
    printf 'passphrase' | quiet cryptsetup luksFormat --batch-mode --type "luks$v" --pbkdf pbkdf2 \
        --pbkdf-force-iterations 1000 --key-file - "$(img "luks$v" 32M)"
    seed "luks$v"
done
mkdir -p "$work/tree"
echo hello >"$work/tree/hello.txt"
quiet mksquashfs "$work/tree" "$work/squashfs" -noappend -no-progress; seed squashfs
quiet xorriso -as mkisofs -V ISO_LABEL -o "$work/iso9660" "$work/tree"; seed iso9660
quiet xorriso -as mkisofs -J -V "Joliet Label" -o "$work/joliet" "$work/tree"; seed joliet
quiet xorriso -as mkisofs --protective-msdos-label -V HYBRID -o "$work/hybrid" "$work/tree"; seed hybrid
# UDF's anchor is at block 256: with 512-byte blocks, just past 128 KiB.
quiet mkudffs --blocksize=512 --label=udf-label "$(img udf 8M)"; seed udf $((192 * 1024))
quiet sgdisk -o -n 1:2048:+1M -t 1:ef00 -n 2:0:0 "$(img gpt 8M)"; seed gpt
printf 'label: dos\n2048,2048,c,*\n,,83\n' | quiet sfdisk -q "$(img mbr 8M)"; seed mbr

if ! $images_only; then
    cargo run --quiet --manifest-path "$here/Cargo.toml" --example write-seeds -- "$out"
    # The guest-file targets: the committed seeds.
    for dir in "$here"/seeds/*/; do
        target=$(basename "$dir")
        mkdir -p "$out/$target"
        cp "$dir"* "$out/$target/"
    done
fi
echo "make-corpus.sh: seeds in $out: $(ls "$out/probe" | wc -l) for probe"

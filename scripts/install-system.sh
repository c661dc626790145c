#!/usr/bin/env bash
# Debian packages the tests and benchmarks use as oracles and peers:
#   python3-nibabel / python3-numpy / python3-pydicom  (geometry + voxel oracles, bench peer; /usr/bin/python3 only)
#   dcm2niix                                              (DICOM series oracle, bench peer)
#   python3-torch                                         (HLIP reference model for the parity fixtures, tools/hlip_ref)
#   python3-matplotlib                                    (the published colour-map tables the viewer's maps are checked against)
#   python3-sklearn                                       (oracle of the zero-shot evaluation metrics, test/oracles/hlip_metrics.py)
#   slurmctld slurmd slurm-client munge python3-yaml     (examples/slurm run for real by test/slurm/run-example.sh; k8s YAML parsed)
#   libvulkan1                                            (the Vulkan loader: WebGPU tests run on chromium's SwiftShader through it)
#   openssl                                               (a self-signed certificate for the https -> http redirect download test)
set -euo pipefail
need=()
/usr/bin/python3 -c 'import nibabel, numpy, pydicom' 2>/dev/null || need+=(python3-nibabel python3-numpy python3-pydicom)
/usr/bin/python3 -c 'import torch' 2>/dev/null || need+=(python3-torch)
/usr/bin/python3 -c 'import sklearn' 2>/dev/null || need+=(python3-sklearn)
/usr/bin/python3 -c 'import yaml' 2>/dev/null || need+=(python3-yaml)
command -v /usr/sbin/slurmctld >/dev/null || need+=(slurmctld slurmd slurm-client munge)
/usr/bin/python3 -c 'import matplotlib' 2>/dev/null || need+=(python3-matplotlib)
command -v dcm2niix >/dev/null || need+=(dcm2niix)
command -v openssl >/dev/null || need+=(openssl)
ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 ' || [ -e /usr/lib/x86_64-linux-gnu/libvulkan.so.1 ] || need+=(libvulkan1)
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "installed: ${need[*]}"

"""Named constants with units, in one place (docs/design.md, Rule 10)."""

MIDI_PITCHES = 128  # MIDI pitch numbers 0..127
PITCH_CLASSES = 12
DEFAULT_RESOLUTION = 24  # ticks per quarter note: 16ths (6), triplets (8), LPD's 24/beat exact
DEFAULT_TEMPO_QPM = 120.0  # quarter notes per minute when a source gives none
DEFAULT_VELOCITY = 80
SPLITS = ("train", "valid", "test")
# C major scale as pitch classes, for the S0 in-scale ratio.
C_MAJOR_PITCH_CLASSES = (0, 2, 4, 5, 7, 9, 11)

# compute.cpu_kernels: the environment each choice sets before torch computes (see
# scorelab.compute, which measured why). Here so that params validation needs no torch.
CPU_KERNELS = {
    "avx2": {"DNNL_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2,STRICT", "ATEN_CPU_CAPABILITY": "avx2"},
    "native": {},
}

"""What each DVC stage does, one module per stage, each called by one file in stages/.

Kept apart from the layers so that a stage's code dependency in dvc.yaml is its own
module plus the layers it uses: editing the sampling glue does not rerun training.
"""

"""The "generate and import" form: one checkpoint per generator, chosen from the files on the server."""
from __future__ import annotations

from django import forms

from .selectors import KINDS, checkpoint_choices, guess_checkpoint

LABELS = {"pix2pix": "Pix2Pix checkpoint", "pix2pix-n": "Pix2Pix-N checkpoint", "stargan": "StarGAN checkpoint"}


class GenerationJobForm(forms.Form):
    per_cell = forms.IntegerField(min_value=1, max_value=1000, initial=25, label="Images per finding and source")
    seed = forms.IntegerField(initial=0, min_value=0, max_value=2**31 - 1)
    allow_reuse = forms.BooleanField(required=False, label="Allow a source image in a second cell when data runs short")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = checkpoint_choices()
        for kind in KINDS:
            self.fields[kind] = forms.ChoiceField(choices=choices, label=LABELS[kind],
                                                  initial=guess_checkpoint(kind, choices))
        self.order_fields([*KINDS, "per_cell", "seed", "allow_reuse"])

    def checkpoints(self) -> dict[str, str]:
        return {kind: self.cleaned_data[kind] for kind in KINDS}

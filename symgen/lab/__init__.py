"""Recipes that were measured and not adopted (teachers, pseudo-labels, direction flips, compositions, ensembles). The product never imports this package; its verbs are under `symgen lab`."""

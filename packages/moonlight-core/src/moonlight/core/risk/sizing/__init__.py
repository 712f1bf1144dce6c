"""Stake sizing policies, one per module, and the clamp every stake goes through.

A policy proposes a stake (:mod:`.base`); :func:`.clamp.clamp_stake` then limits it to
the instrument's and the account's limits and the balance.
"""

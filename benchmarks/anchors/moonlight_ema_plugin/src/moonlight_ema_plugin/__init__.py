"""EMA fast/slow cross as an outside MoonLight strategy plugin (anchor benchmark)."""

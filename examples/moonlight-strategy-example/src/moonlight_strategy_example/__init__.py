"""Example MoonLight strategy plugin: vote with the price's side of its moving average."""

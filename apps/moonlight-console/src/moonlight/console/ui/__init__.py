"""The Flet (Flutter) views of the console: sign-in, the shell and one module per screen.

Everything here only reads :class:`~moonlight.console.state.ConsoleState` and calls
:class:`~moonlight.console.api.ApiClient`; the logic worth testing without a window
lives in the plain modules one level up.
"""

"""MoonLight as a Windows service without NSSM: a pywin32 service class (untested here).

Windows-only, and never run in MoonLight's CI (Linux): it is written against pywin32's
documented ``win32serviceutil.ServiceFramework`` API. It supervises
``<root>\\current\\moonlight.exe run <config>`` the way NSSM does:

* the engine runs as a child in its own process group; **stop** sends it
  ``CTRL_BREAK_EVENT`` (MoonLight handles SIGBREAK like SIGTERM: no new orders, orders in
  flight persisted, API stopped) and waits up to 30 s before terminating it;
* a child that exits on its own is restarted after 10 s, except with exit code 1 (an
  invalid configuration or stored override: a restart cannot fix it), which stops the
  service;
* the child's output goes to ``<data_dir>\\logs\\service-console.log``.

Install (an elevated prompt, in a Python that has ``pywin32``)::

    python moonlight_winservice.py --startup auto install
    reg add HKLM\\SYSTEM\\CurrentControlSet\\Services\\MoonLightPy\\Parameters ^
        /v Command /d "C:\\MoonLight\\current\\moonlight.exe run C:\\MoonLight\\config.yaml"
    reg add HKLM\\SYSTEM\\CurrentControlSet\\Services\\MoonLightPy\\Parameters ^
        /v Log /d "C:\\MoonLight\\data\\logs\\service-console.log"
    python moonlight_winservice.py start
"""

from __future__ import annotations

import shlex
import signal
import subprocess
import time
import winreg  # type: ignore[import-not-found]

import servicemanager  # type: ignore[import-not-found]
import win32event  # type: ignore[import-not-found]
import win32service  # type: ignore[import-not-found]
import win32serviceutil  # type: ignore[import-not-found]

STOP_TIMEOUT_S = 30
RESTART_DELAY_MS = 10_000
PARAMETERS = r"SYSTEM\CurrentControlSet\Services\MoonLightPy\Parameters"


def _parameter(name: str) -> str:
    with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, PARAMETERS) as key:
        return str(winreg.QueryValueEx(key, name)[0])


class MoonLightService(win32serviceutil.ServiceFramework):  # type: ignore[misc]
    """Runs and supervises one ``moonlight run`` child process."""

    _svc_name_ = "MoonLightPy"
    _svc_display_name_ = "MoonLight (pywin32)"
    _svc_description_ = "MoonLight trading engine, API and dashboard."

    def __init__(self, args: list[str]) -> None:
        super().__init__(args)
        self.stop_event = win32event.CreateEvent(None, 0, 0, None)
        self.child: subprocess.Popen[bytes] | None = None

    def SvcStop(self) -> None:  # pywin32 names these
        self.ReportServiceStatus(win32service.SERVICE_STOP_PENDING)
        win32event.SetEvent(self.stop_event)

    def SvcDoRun(self) -> None:  # pywin32 names these
        command = shlex.split(_parameter("Command"), posix=False)
        log = _parameter("Log")
        while True:
            with open(log, "ab") as sink:
                self.child = subprocess.Popen(
                    command,
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    creationflags=subprocess.CREATE_NEW_PROCESS_GROUP,
                )
            while self.child.poll() is None:
                if win32event.WaitForSingleObject(self.stop_event, 1000) == 0:
                    self._stop_child()
                    return
            if self.child.returncode == 1:
                servicemanager.LogErrorMsg("moonlight exited 1 (configuration): not restarting")
                return
            if win32event.WaitForSingleObject(self.stop_event, RESTART_DELAY_MS) == 0:
                return

    def _stop_child(self) -> None:
        assert self.child is not None
        self.child.send_signal(signal.CTRL_BREAK_EVENT)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while self.child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        if self.child.poll() is None:
            self.child.terminate()


if __name__ == "__main__":
    win32serviceutil.HandleCommandLine(MoonLightService)

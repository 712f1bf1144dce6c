<#
.SYNOPSIS
  Install MoonLight as a Windows service under NSSM (https://nssm.cc).

.DESCRIPTION
  Runs "<InstallRoot>\current\moonlight.exe run <Config>" (the one-folder bundle; pass
  -Executable for a virtual environment's Scripts\moonlight.exe) as the service
  <Name>, with:
    * automatic restart on failure (5 s throttle, 10 s delay), except after exit 1 --
      an invalid configuration or stored override, which a restart cannot fix;
    * graceful stop: NSSM sends Ctrl+C to the console (MoonLight's SIGINT path: no new
      orders, orders in flight persisted, the API stopped) and waits StopTimeoutMs
      before it tries harder;
    * the service's console output in <DataDir>\logs\service-console.log, rotated by
      NSSM at 10 MB; MoonLight's own JSON log (<DataDir>\logs\moonlight.log) is rotated
      by MoonLight itself (telemetry.log_max_mb / log_backups);
    * NUMBA_CACHE_DIR under the data directory (the install folder stays read-only).
  Windows-only; written against NSSM 2.24's documented commands, not run in
  MoonLight's CI (which is Linux). Run from an elevated PowerShell.

.EXAMPLE
  .\install-service.ps1 -InstallRoot C:\MoonLight -Config C:\MoonLight\config.yaml `
      -DataDir C:\MoonLight\data -Account .\moonlight
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $InstallRoot,
    [Parameter(Mandatory)] [string] $Config,
    [Parameter(Mandatory)] [string] $DataDir,
    [string] $Name = "MoonLight",
    [string] $Executable = "",
    [string] $Nssm = "nssm.exe",
    [string] $Account = "",
    [int] $StopTimeoutMs = 30000
)
$ErrorActionPreference = "Stop"

if (-not $Executable) { $Executable = Join-Path $InstallRoot "current\moonlight.exe" }
if (-not (Test-Path $Executable)) { throw "no MoonLight executable at $Executable" }
if (-not (Get-Command $Nssm -ErrorAction SilentlyContinue)) { throw "NSSM not found: $Nssm" }

function Invoke-Nssm {
    & $Nssm @args
    if ($LASTEXITCODE -ne 0) { throw "nssm $($args -join ' ') failed ($LASTEXITCODE)" }
}

# The configuration must be valid before a service is made of it.
& $Executable config check $Config
if ($LASTEXITCODE -ne 0) { throw "moonlight config check failed: fix $Config first" }

$logs = Join-Path $DataDir "logs"
New-Item -ItemType Directory -Force -Path $logs, (Join-Path $DataDir "numba-cache") | Out-Null
$console = Join-Path $logs "service-console.log"

Invoke-Nssm install $Name $Executable run $Config
Invoke-Nssm set $Name AppDirectory $InstallRoot
Invoke-Nssm set $Name Description "MoonLight trading engine, API and dashboard (127.0.0.1:8765)"
Invoke-Nssm set $Name Start SERVICE_AUTO_START
# Graceful stop: Ctrl+C only, then wait; no WM_CLOSE/thread-exit shortcuts.
Invoke-Nssm set $Name AppStopMethodSkip 6
Invoke-Nssm set $Name AppStopMethodConsole $StopTimeoutMs
Invoke-Nssm set $Name AppKillProcessTree 0
# Restart on failure; exit 1 (invalid configuration) stays stopped.
Invoke-Nssm set $Name AppExit Default Restart
Invoke-Nssm set $Name AppExit 1 Exit
Invoke-Nssm set $Name AppExit 0 Exit
Invoke-Nssm set $Name AppThrottle 5000
Invoke-Nssm set $Name AppRestartDelay 10000
# Console output (login link, start-up errors) to a file NSSM rotates.
Invoke-Nssm set $Name AppStdout $console
Invoke-Nssm set $Name AppStderr $console
Invoke-Nssm set $Name AppRotateFiles 1
Invoke-Nssm set $Name AppRotateOnline 1
Invoke-Nssm set $Name AppRotateBytes 10485760
Invoke-Nssm set $Name AppEnvironmentExtra "NUMBA_CACHE_DIR=$(Join-Path $DataDir 'numba-cache')" "PYTHONUNBUFFERED=1"
if ($Account) {
    $password = Read-Host -AsSecureString "Password of $Account"
    $plain = [Runtime.InteropServices.Marshal]::PtrToStringAuto(
        [Runtime.InteropServices.Marshal]::SecureStringToBSTR($password))
    Invoke-Nssm set $Name ObjectName $Account $plain
}
Invoke-Nssm start $Name
Write-Host "Service $Name started. Health: curl http://127.0.0.1:8765/health ; console log: $console"

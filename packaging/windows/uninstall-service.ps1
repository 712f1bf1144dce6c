<#
.SYNOPSIS
  Stop (gracefully) and remove the MoonLight NSSM service. Data and install stay.

.DESCRIPTION
  "nssm stop" sends Ctrl+C and waits the configured AppStopMethodConsole time, so
  orders in flight are persisted before the service is removed. Windows-only; not run
  in MoonLight's CI.
#>
[CmdletBinding()]
param(
    [string] $Name = "MoonLight",
    [string] $Nssm = "nssm.exe"
)
$ErrorActionPreference = "Stop"
$status = & $Nssm status $Name 2>$null
if ($LASTEXITCODE -ne 0) { Write-Host "no service named $Name"; exit 0 }
if ($status -notmatch "SERVICE_STOPPED") {
    & $Nssm stop $Name
    if ($LASTEXITCODE -ne 0) { throw "nssm stop $Name failed ($LASTEXITCODE)" }
}
& $Nssm remove $Name confirm
if ($LASTEXITCODE -ne 0) { throw "nssm remove $Name failed ($LASTEXITCODE)" }
Write-Host "Service $Name removed; the install folder and data directory are untouched."

<#
.SYNOPSIS
The Windows job: the release's MSIs installed by Windows Installer itself
(msiexec /qn /l*v), using the bundles administrators download and the
deployment assistant from its own bundle.

.DESCRIPTION
Run from the repository root, with dist/ (the Linux job's release folder) and
windows-fixtures/ (ci/windows-fixtures.sh: an older release, a hotfix patch,
the custom action DLLs) beside it. One step per call, in this order, as the
workflow runs them; the steps share $env:RUNNER_TEMP\outpost-ci.

  Prepare     extract both bundles into one folder; the assistant writes an
              answer file, transforms and command lines
  Signatures  Get-AuthenticodeSignature and signtool verify /pa /all on
              both MSIs, omnipack.exe, the older MSI, the patch, the DLLs
  Fresh       a refused value (1603, nothing installed), then an install with
              properties; service, files, settings; uninstall
  Transform   install with the assistant's transform by its own command line
  Patch       msiexec /p the hotfix over it; version and agent change,
              settings stay; uninstall
  Upgrade     the older release, an administrator's setting, then the release
              over it (major upgrade)
  Uninstall   everything of ours goes; the administrator's file stays
  X86         the x86 MSI on 64-bit Windows

Only exit code 0 counts as success from msiexec: 3010 (success, reboot
required) would mean a file was in use and is replaced only at the next
restart, so every check after it would look at the old files; for a package
that stops its own service first, that is a defect to see, not to accept.
#>
param(
    [Parameter(Mandatory = $true)]
    [ValidateSet('Prepare', 'Signatures', 'Fresh', 'Transform', 'Patch', 'Upgrade', 'Uninstall', 'X86')]
    [string]$Step
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

$Root = Split-Path -Parent $PSScriptRoot
$Dist = Join-Path $Root 'dist'
$Fixtures = Join-Path $Root 'windows-fixtures'
$Work = Join-Path $(if ($env:RUNNER_TEMP) { $env:RUNNER_TEMP } else { $env:TEMP }) 'outpost-ci'
$Bundle = Join-Path $Work 'bundle'
$Deploy = Join-Path $Work 'deploy'
$Logs = Join-Path $Work 'logs'

$Versions = Get-Content -Raw (Join-Path $Fixtures 'versions.json') | ConvertFrom-Json
$V = $Versions.release

# [layout.windows] and [service] of packaging/outpost.toml.
$InstallDir = 'C:\Program Files\Outpost'
$DataDir = 'C:\ProgramData\Outpost'
$AnswersFile = "$DataDir\installer.conf"
$AdminFile = "$DataDir\outpost.conf"
$ServiceName = 'OutpostClient'
$Remembered = 'HKLM:\SOFTWARE\Outpost Systems\Outpost Client\Settings'
$Remembered32 = 'HKLM:\SOFTWARE\WOW6432Node\Outpost Systems\Outpost Client\Settings'

$script:LastLog = $null

# The message is built before the call: callers whose message could fail on
# the success path (a listing of a folder that should be gone) use if/throw.
function Assert([bool]$Condition, [string]$Message) {
    if (-not $Condition) { throw $Message }
}

# Names under a folder (or of the products), for messages; never throws.
function Get-Listing([string]$Path) {
    return (@(Get-ChildItem -Recurse -Name -LiteralPath $Path -ErrorAction SilentlyContinue) -join ', ')
}

function Show-LogTail([string]$Log, [int]$Lines = 80) {
    if ($Log -and (Test-Path -LiteralPath $Log)) {
        Write-Host "--- last $Lines lines of $Log"
        Get-Content -LiteralPath $Log -Tail $Lines | ForEach-Object { Write-Host $_ }
    }
}

# msiexec ARGUMENTS /qn /l*v LOGS\NAME.log; throws unless the exit code is
# one of $Expect.
function Invoke-Msiexec([string]$Name, [string[]]$Arguments, [int[]]$Expect = @(0)) {
    $log = Join-Path $Logs "$Name.log"
    $script:LastLog = $log
    $line = (@($Arguments) + @('/qn', '/l*v', "`"$log`"")) -join ' '
    Write-Host "msiexec $line"
    $p = Start-Process -FilePath 'msiexec.exe' -ArgumentList $line -Wait -PassThru
    if ($Expect -notcontains $p.ExitCode) {
        throw "msiexec ($Name) exited $($p.ExitCode), expected $($Expect -join ' or ')"
    }
    Write-Host "msiexec ($Name): exit $($p.ExitCode)"
}

# A native program, its output returned; throws on a non-zero exit code.
function Invoke-Checked([string]$Program, [string[]]$Arguments) {
    $out = & $Program @Arguments
    if ($LASTEXITCODE -ne 0) {
        $out | ForEach-Object { Write-Host $_ }
        throw "$Program $($Arguments -join ' ') exited $LASTEXITCODE"
    }
    return $out
}

function Get-Sha256([string]$Path) {
    return (Get-FileHash -LiteralPath $Path -Algorithm SHA256).Hash.ToLowerInvariant()
}

function Assert-Signed([string]$Path) {
    $s = Get-AuthenticodeSignature -LiteralPath $Path
    $signer = if ($null -ne $s.SignerCertificate) { $s.SignerCertificate.Subject } else { 'no certificate' }
    Write-Host "$($s.Status)  $Path  ($signer)"
    Assert ($s.Status -eq 'Valid') "${Path}: Authenticode signature $($s.Status): $($s.StatusMessage)"
}

function Assert-Lines([string]$File, [string[]]$Lines) {
    $have = @(Get-Content -LiteralPath $File | ForEach-Object { $_.Trim() })
    foreach ($l in $Lines) {
        Assert ($have -contains $l) "$File lacks the line ``$l``:`n$($have -join "`n")"
    }
}

# Outpost Client's Add/Remove Programs entries, in both registry views.
function Get-Products {
    $keys = @(
        'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall',
        'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall'
    )
    return @(Get-ChildItem -Path $keys -ErrorAction SilentlyContinue | Get-ItemProperty -ErrorAction SilentlyContinue |
            Where-Object { $_.PSObject.Properties['DisplayName'] -and $_.DisplayName -eq 'Outpost Client' })
}

function Assert-OneProduct([string]$Version) {
    $p = Get-Products
    if ($p.Count -ne 1) {
        throw "expected one Outpost Client in Add/Remove Programs, found $($p.Count): $(($p | ForEach-Object { $_.PSChildName }) -join ', ')"
    }
    Assert ($p[0].DisplayVersion -eq $Version) "Add/Remove Programs shows $($p[0].DisplayVersion), expected $Version"
    Assert ($p[0].Publisher -eq 'Outpost Systems') "Publisher: $($p[0].Publisher)"
    return $p[0]
}

# The service runs (it may take a moment after msiexec returns), starts
# automatically, and runs $Agent; returns the executable's path.
function Assert-ServiceRunning([string]$Agent) {
    $deadline = (Get-Date).AddSeconds(30)
    do {
        $svc = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
        if ($svc -and $svc.Status -eq 'Running') { break }
        Start-Sleep -Seconds 1
    } while ((Get-Date) -lt $deadline)
    Assert ($null -ne $svc) "service $ServiceName does not exist"
    Assert ($svc.Status -eq 'Running') "service $ServiceName is $($svc.Status)"
    Assert ($svc.StartType -eq 'Automatic') "service $ServiceName starts $($svc.StartType)"
    $cim = Get-CimInstance -ClassName Win32_Service -Filter "Name='$ServiceName'"
    Write-Host "service $ServiceName running: $($cim.PathName)"
    $exe = if ($cim.PathName -match '^"([^"]+)"') { $Matches[1] } else { ($cim.PathName -split ' ')[0] }
    Assert ($exe -eq $Agent) "the service runs $exe, expected $Agent"
}

function Get-Config([string]$Agent) {
    $json = Invoke-Checked $Agent @('config', 'show', '--json')
    return ($json -join "`n") | ConvertFrom-Json
}

function Assert-Setting($Config, [string]$Name, [string]$Value, [string]$Source) {
    $s = @($Config.settings | Where-Object { $_.name -eq $Name })
    Assert ($s.Count -eq 1) "config show lists $Name $($s.Count) times"
    Assert ($s[0].value -eq $Value -and $s[0].source -eq $Source) `
        "config show: $Name = $($s[0].value) from $($s[0].source), expected $Value from $Source"
}

# What the agent says about itself, on top of the checks: the layers it read,
# its status and its own file check.
function Assert-Agent([string]$Agent) {
    Assert-Signed $Agent
    Invoke-Checked $Agent @('config', 'show') | ForEach-Object { Write-Host $_ }
    Invoke-Checked $Agent @('status') | ForEach-Object { Write-Host $_ }
    Invoke-Checked $Agent @('verify') | ForEach-Object { Write-Host $_ }
}

function Assert-Uninstalled([string]$Dir) {
    $svc = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
    Assert ($null -eq $svc) "service $ServiceName still exists after uninstall"
    foreach ($d in $Dir, "$DataDir\Logs", "$DataDir\State") {
        if (Test-Path -LiteralPath $d) { throw "$d left behind: $(Get-Listing $d)" }
    }
    Assert (-not (Test-Path -LiteralPath $AnswersFile)) "$AnswersFile left behind"
    foreach ($k in $Remembered, $Remembered32) {
        Assert (-not (Test-Path -LiteralPath $k)) "remembered settings left in $k"
    }
    $p = Get-Products
    if ($p.Count -ne 0) { throw "Add/Remove Programs still lists $(($p | ForEach-Object { $_.PSChildName }) -join ', ')" }
    if (Test-Path -LiteralPath $DataDir) { Write-Host "left in ${DataDir}: $(Get-Listing $DataDir)" }
}

function Assert-Clean {
    Assert ($null -eq (Get-Service -Name $ServiceName -ErrorAction SilentlyContinue)) "service $ServiceName exists before the step"
    Assert ((Get-Products).Count -eq 0) 'Outpost Client is installed before the step'
}

function Step-Prepare {
    Remove-Item -Recurse -Force -LiteralPath $Work -ErrorAction SilentlyContinue
    New-Item -ItemType Directory -Path $Work, $Bundle, $Logs | Out-Null
    $release = Get-Content -Raw (Join-Path $Dist 'release.json') | ConvertFrom-Json
    foreach ($kind in 'windows', 'assistant') {
        $zip = @($release.artifacts | Where-Object { $_.format -eq 'zip' -and $_.bundle -eq $kind })
        Assert ($zip.Count -eq 1) "release.json lists $($zip.Count) $kind bundles"
        Assert ($zip[0].version -eq $V) "the $kind bundle is version $($zip[0].version), the release $V"
        $path = Join-Path $Dist $zip[0].path
        Assert ((Get-Sha256 $path) -eq $zip[0].sha256) "${path}: SHA-256 differs from release.json"
        # Both into one folder, as the READMEs tell administrators; a name in
        # both zips fails here rather than one silently replacing the other.
        Expand-Archive -LiteralPath $path -DestinationPath $Bundle
    }
    foreach ($f in "outpost-$V-x64.msi", "outpost-$V-x86.msi", 'release.json', 'answers.toml',
        'README-windows.txt', 'omnipack.exe', 'outpost.toml', 'README-assist.txt') {
        Assert (Test-Path -LiteralPath "$Bundle\$f" -PathType Leaf) "the bundles lack $f"
    }
    foreach ($arch in 'x64', 'x86') {
        $name = "outpost-$V-$arch.msi"
        Assert ((Get-Sha256 "$Bundle\$name") -eq (Get-Sha256 "$Dist\$name")) "the bundle's $name is not the release's"
    }

    # Run from a folder holding neither dist\ nor packaging\: the assistant
    # must find release.json and outpost.toml beside omnipack.exe.
    $assist = Join-Path $Work 'assist'
    New-Item -ItemType Directory -Path $assist | Out-Null
    Push-Location $assist
    try {
        $omnipack = "$Bundle\omnipack.exe"
        Invoke-Checked $omnipack @('assist', 'init', '--out', 'answers.toml') | Out-Null
        $t = Get-Content -Raw 'answers.toml'
        foreach ($edit in @(
                # [^\r\n]: the template may have CRLF line ends, and $ stops
                # before \n only.
                @('(?m)^# Switch = [^\r\n]*', 'Switch = "transform.example:8443"'),
                @('(?m)^# LogLevel = [^\r\n]*', 'LogLevel = "debug"'),
                @("(?m)^log = '%TEMP%\\outpost-install\.log'(?=\r?$)", "log = '%TEMP%\outpost-ci-transform.log'"))) {
            $n = ([regex]::Matches($t, $edit[0])).Count
            Assert ($n -eq 1) "answers.toml: $n lines match $($edit[0]), expected one"
            $t = [regex]::Replace($t, $edit[0], $edit[1].Replace('$', '$$'))
        }
        Set-Content -LiteralPath 'answers.toml' -Value $t -NoNewline -Encoding utf8NoBOM
        Invoke-Checked $omnipack @('assist', '--answers', 'answers.toml', '--unsigned', '--out', $Deploy) | Out-Null
    } finally {
        Pop-Location
    }
    foreach ($f in "outpost-$V-x64.mst", "outpost-$V-x86.mst", 'commandlines.txt', 'configmgr.ps1', 'intune.txt') {
        Assert (Test-Path -LiteralPath "$Deploy\$f" -PathType Leaf) "the assistant did not write $f"
    }
    Get-Content -LiteralPath "$Deploy\commandlines.txt" | ForEach-Object { Write-Host $_ }
    # The ConfigMgr script must at least parse for PowerShell itself.
    $tokens = $null; $errors = $null
    [System.Management.Automation.Language.Parser]::ParseFile("$Deploy\configmgr.ps1", [ref]$tokens, [ref]$errors) | Out-Null
    Assert ($errors.Count -eq 0) "configmgr.ps1 does not parse: $($errors -join '; ')"
}

function Step-Signatures {
    $files = @("$Bundle\outpost-$V-x64.msi", "$Bundle\outpost-$V-x86.msi", "$Bundle\omnipack.exe",
        "$Fixtures\older\outpost-$($Versions.older)-x64.msi", "$Fixtures\$($Versions.msp)")
    $files += @(Get-ChildItem -LiteralPath "$Fixtures\ca" -Filter '*.dll' | ForEach-Object { $_.FullName })
    Assert ($files.Count -ge 7) "expected the custom action DLLs in $Fixtures\ca"
    foreach ($f in $files) { Assert-Signed $f }
    # The transforms are unsigned here (assist --unsigned: no signing key on
    # this machine); shown, not asserted.
    $s = Get-AuthenticodeSignature -LiteralPath "$Deploy\outpost-$V-x64.mst"
    Write-Host "$($s.Status)  $Deploy\outpost-$V-x64.mst (unsigned on purpose)"
    # Every signature, the nested SHA-256 one too (Get-AuthenticodeSignature
    # reads only the first).
    $signtool = Get-ChildItem -Path "${env:ProgramFiles(x86)}\Windows Kits\10\bin\*\x64\signtool.exe" -ErrorAction SilentlyContinue |
        Sort-Object { [version]$_.Directory.Parent.Name } | Select-Object -Last 1
    Assert ($null -ne $signtool) 'signtool.exe not found under Windows Kits\10\bin'
    foreach ($f in $files) {
        Invoke-Checked $signtool.FullName @('verify', '/pa', '/all', '/v', $f) | Select-Object -Last 12 | ForEach-Object { Write-Host $_ }
    }
}

function Step-Fresh {
    Assert-Clean
    $msi = "$Bundle\outpost-$V-x64.msi"
    # The custom action DLL runs on real Windows (Wine treats a DLL that
    # cannot load as a success): a refused value stops the install.
    Invoke-Msiexec 'refused-value' @("/i `"$msi`"", 'HEARTBEATINTERVALSECONDS=4') -Expect 1603
    $log = Get-Content -Raw -LiteralPath $script:LastLog
    Assert ($log.Contains('HEARTBEATINTERVALSECONDS=4 (4 is out of range')) 'the log does not name the refused HEARTBEATINTERVALSECONDS'
    Assert (-not (Test-Path -LiteralPath $InstallDir)) "$InstallDir exists after a refused install"
    Assert-Clean

    Invoke-Msiexec 'fresh-install' @("/i `"$msi`"", 'SWITCH=fresh.example:9443', 'HEARTBEATINTERVALSECONDS=45',
        'MODULE.CONTENT.ENABLED=1', 'LOGLEVEL=debug')
    $agent = "$InstallDir\outpost-agent.exe"
    Assert-ServiceRunning $agent
    foreach ($f in 'defaults.conf', 'files.sha256', 'features\platform.feature', 'features\content.feature') {
        Assert (Test-Path -LiteralPath "$InstallDir\$f" -PathType Leaf) "$InstallDir\$f missing"
    }
    Assert (-not (Test-Path -LiteralPath "$InstallDir\features\pxe.feature")) 'the Pxe feature was installed unasked'
    Assert-Lines $AnswersFile @('Switch=fresh.example:9443', 'HeartbeatIntervalSeconds=45',
        'Module.Content.Enabled=true', 'LogLevel=debug')
    $reg = Get-ItemProperty -LiteralPath $Remembered
    Assert ($reg.Switch -eq 'fresh.example:9443') "remembered Switch: $($reg.Switch)"
    $config = Get-Config $agent
    Assert-Setting $config 'Switch' 'fresh.example:9443' 'answers'
    Assert-Setting $config 'HeartbeatIntervalSeconds' '45' 'answers'
    foreach ($layer in @(@('defaults', "$InstallDir\defaults.conf"), @('answers', $AnswersFile))) {
        $l = @($config.layers | Where-Object { $_.source -eq $layer[0] })
        Assert ($l.Count -eq 1 -and $l[0].file -eq $layer[1] -and $l[0].state -eq 'loaded') `
            "config show: the $($layer[0]) layer is $($l | ConvertTo-Json -Compress), expected $($layer[1]) loaded"
    }
    Assert-Agent $agent
    Assert-OneProduct $V | Out-Null

    Invoke-Msiexec 'fresh-uninstall' @("/x `"$msi`"")
    Assert-Uninstalled $InstallDir
}

function Step-Transform {
    Assert-Clean
    # As commandlines.txt says: run from the folder holding the MSIs and
    # transforms; the line is the assistant's own PowerShell one.
    Copy-Item -LiteralPath "$Deploy\outpost-$V-x64.mst" -Destination $Bundle
    $line = @(Get-Content -LiteralPath "$Deploy\commandlines.txt" | ForEach-Object { $_.Trim() } |
            Where-Object { $_.StartsWith('$p = Start-Process') -and $_.Contains("outpost-$V-x64.msi") -and $_.Contains('TRANSFORMS=') })
    Assert ($line.Count -eq 1) "commandlines.txt has $($line.Count) PowerShell lines installing the x64 MSI with its transform"
    $log = Join-Path $env:TEMP 'outpost-ci-transform.log'
    Remove-Item -LiteralPath $log -ErrorAction SilentlyContinue
    $script:LastLog = $log
    Write-Host $line[0]
    Push-Location $Bundle
    try {
        pwsh -NoProfile -NonInteractive -Command $line[0]
        $code = $LASTEXITCODE
    } finally {
        Pop-Location
    }
    if (Test-Path -LiteralPath $log) { Copy-Item -LiteralPath $log -Destination "$Logs\transform-install.log" }
    Assert ($code -eq 0) "the assistant's command line exited $code"
    $agent = "$InstallDir\outpost-agent.exe"
    Assert-ServiceRunning $agent
    Assert-Lines $AnswersFile @('Switch=transform.example:8443', 'LogLevel=debug')
    $config = Get-Config $agent
    Assert-Setting $config 'Switch' 'transform.example:8443' 'answers'
    Assert-Setting $config 'LogLevel' 'debug' 'answers'
    Assert-OneProduct $V | Out-Null
}

function Step-Patch {
    $agent = "$InstallDir\outpost-agent.exe"
    $before = Get-Sha256 $agent
    Invoke-Msiexec 'patch' @("/p `"$Fixtures\$($Versions.msp)`"", 'REINSTALL=ALL', 'REINSTALLMODE=omus')
    $product = Assert-OneProduct $Versions.hotfix
    $after = Get-Sha256 $agent
    Assert ($after -ne $before) 'the patch did not replace the agent'
    Assert ($after -eq $Versions.hotfix_agent_sha256) "the patched agent is $after, the hotfix MSI's $($Versions.hotfix_agent_sha256)"
    Assert-ServiceRunning $agent
    Assert-Lines $AnswersFile @('Switch=transform.example:8443', 'LogLevel=debug')
    Assert-Setting (Get-Config $agent) 'Switch' 'transform.example:8443' 'answers'
    # files.sha256 came with the patch too: the agent's own check passes.
    Assert-Agent $agent

    Invoke-Msiexec 'patch-uninstall' @("/x $($product.PSChildName)")
    Assert-Uninstalled $InstallDir
}

function Step-Upgrade {
    Assert-Clean
    Invoke-Msiexec 'older-install' @("/i `"$Fixtures\older\outpost-$($Versions.older)-x64.msi`"",
        'SWITCH=upgrade.example:443', 'MODULE.CONTENT.ENABLED=1')
    $older = Assert-OneProduct $Versions.older
    $agent = "$InstallDir\outpost-agent.exe"
    Assert-ServiceRunning $agent
    # The administrator's own file, which no installer may touch.
    Set-Content -LiteralPath $AdminFile -Value "[Settings]`r`nLogLevel=warn`r`n" -NoNewline -Encoding utf8NoBOM
    $admin = Get-Sha256 $AdminFile

    Invoke-Msiexec 'upgrade' @("/i `"$Bundle\outpost-$V-x64.msi`"")
    $new = Assert-OneProduct $V
    Assert ($new.PSChildName -ne $older.PSChildName) 'the upgrade kept the older ProductCode'
    Assert-ServiceRunning $agent
    Assert ((Get-Sha256 $AdminFile) -eq $admin) "the upgrade changed $AdminFile"
    Assert-Lines $AnswersFile @('Switch=upgrade.example:443', 'Module.Content.Enabled=true')
    Assert (Test-Path -LiteralPath "$InstallDir\features\content.feature") 'the upgrade dropped the Content feature'
    $config = Get-Config $agent
    Assert-Setting $config 'LogLevel' 'warn' 'admin'
    Assert-Setting $config 'Switch' 'upgrade.example:443' 'answers'
    Assert-Agent $agent
}

function Step-Uninstall {
    $admin = Get-Sha256 $AdminFile
    Invoke-Msiexec 'uninstall' @("/x `"$Bundle\outpost-$V-x64.msi`"")
    Assert-Uninstalled $InstallDir
    Assert ((Test-Path -LiteralPath $AdminFile) -and (Get-Sha256 $AdminFile) -eq $admin) "uninstall removed or changed $AdminFile"
}

function Step-X86 {
    Assert-Clean
    Remove-Item -Recurse -Force -LiteralPath $DataDir -ErrorAction SilentlyContinue
    $msi = "$Bundle\outpost-$V-x86.msi"
    $dir = Join-Path ${env:ProgramFiles(x86)} 'Outpost'
    $agent = "$dir\outpost-agent.exe"
    Invoke-Msiexec 'x86-install' @("/i `"$msi`"", 'SWITCH=x86.example:443')
    Assert-ServiceRunning $agent
    # IMAGE_FILE_MACHINE_I386 in the PE header: the 32-bit agent.
    $bytes = [System.IO.File]::ReadAllBytes($agent)
    $pe = [BitConverter]::ToInt32($bytes, 0x3c)
    Assert ([BitConverter]::ToUInt16($bytes, $pe + 4) -eq 0x14c) "$agent is not a 32-bit executable"
    Assert-Lines $AnswersFile @('Switch=x86.example:443')
    Assert-Setting (Get-Config $agent) 'Switch' 'x86.example:443' 'answers'
    Assert-Agent $agent
    Assert-OneProduct $V | Out-Null
    Invoke-Msiexec 'x86-uninstall' @("/x `"$msi`"")
    Assert-Uninstalled $dir
}

try {
    & "Step-$Step"
} catch {
    Show-LogTail $script:LastLog
    throw
}

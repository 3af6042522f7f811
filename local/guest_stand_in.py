"""What a guest prints when the stand-in AWS runs our guest checks on it.

moto runs no commands, so the moto stand-in answers our guest-check script (recognised by its marker
line) with a guest image from `local/guest_images/`: a real output of the script on that OS. The
instance picks its image by the `sim:guest-image` tag, else by its platform and AMI name; the BIOS
UUID is the instance's own (the one the ASR simulator's appliance discovers), and the
`sim:closed-ports` tag (e.g. `9443`) closes appliance ports, as a missing security-group rule would.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

IMAGES = Path(__file__).parent / "guest_images"
MARKER = "@@azm-guest v1"
_BY_AMI_NAME = (
    ("ubuntu", "ubuntu-22.04"),
    ("rhel", "rhel-9"),
    ("debian", "debian-12"),
    ("suse", "sles-15"),
    ("sles", "sles-15"),
    ("al2023", "amazon-linux-2023"),
    ("amzn2", "amazon-linux-2"),
)


def bios_uuid(instance_id: str) -> str:
    """EC2 reports an SMBIOS UUID starting with 'ec2'; the stand-in derives a stable one per instance."""
    h = hashlib.sha256(instance_id.encode()).hexdigest()
    return f"ec2{h[3:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def image_for(tags: dict[str, str], platform: str, ami_name: str) -> str:
    if tags.get("sim:guest-image"):
        return tags["sim:guest-image"]
    if "windows" in platform.lower():
        return "windows-2022"
    name = ami_name.lower()
    return next((image for hint, image in _BY_AMI_NAME if hint in name), "rhel-9")


def guest_output(instance_id: str, tags: dict[str, str], platform: str, ami_name: str) -> str:
    image = image_for(tags, platform, ami_name)
    text = (IMAGES / f"{image}.txt").read_text(encoding="utf-8")
    windows = image.startswith("windows")
    uuid = bios_uuid(instance_id)
    text = replace_section(text, "bios-uuid", [uuid.upper() if windows else uuid])
    closed = {p.strip() for p in tags.get("sim:closed-ports", "").split(",") if p.strip()}
    ports = [f"{port} {'closed' if str(port) in closed else 'open'}" for port in (443, 9443)]
    return replace_section(text, "ports", ports)


def replace_section(text: str, name: str, lines: list[str]) -> str:
    """The image with one section's body replaced; line endings follow the image's own."""
    newline = "\r\n" if "\r\n" in text else "\n"
    out: list[str] = []
    skipping = False
    for line in text.splitlines():
        if line.startswith("@@"):
            skipping = line.strip() == f"@@{name}"
            out.append(line)
            if skipping:
                out.extend(lines)
            continue
        if not skipping:
            out.append(line)
    return newline.join(out) + newline

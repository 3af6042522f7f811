"""EC2 and Systems Manager through boto3: the fleet as facts, and the few things we do to it.

Reads are bulk: per region, one paged `describe_instances` filtered on the opt-in tag key (any value,
so an opt-out by `false` is seen), then volumes and images for those instances in chunks. Instances
that lost the tag entirely are read by id, also in chunks. The passphrase of the replication
appliance never passes through here: the agent install reads it on the instance from Parameter Store.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.errors import ActionRefused, CloudUnavailable
from shared.guest.documents import (
    GUEST_CHECKS,
    AgentInstall,
    agent_parameters,
    document_name,
    guest_check_parameters,
)
from shared.guest.scripts import checked_address
from shared.model.facts import TRUE_VALUES, CommandFacts, Disk, Ec2Facts, InstanceTypeFacts

ClientFactory = Callable[[str, str], Any]  # (service, region) -> boto3 client
FILTER_CHUNK = 200  # EC2 filter values per call
SSM_TARGETS_PER_CALL = 50
GUEST_CHECK_COMMENT = "Migration Autopilot: guest checks"
DEFAULT_DOCUMENT_PREFIX = "MigrationAutopilot"
AGENT_COMMENT = "Migration Autopilot: Mobility agent"  # the mode follows in parentheses
_THROTTLED = {"RequestLimitExceeded", "Throttling", "ThrottlingException", "TooManyRequestsException"}


class AwsAdapter:
    def __init__(
        self,
        clients: ClientFactory,
        regions: list[str],
        tag_prefix: str,
        *,
        document_prefix: str = DEFAULT_DOCUMENT_PREFIX,
    ) -> None:
        self._clients, self._regions, self._prefix = clients, regions, tag_prefix
        self._documents = document_prefix

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(self._regions)

    # --- reads -----------------------------------------------------------------------------------

    def opted_in(self, *, detail: bool = True) -> dict[str, Ec2Facts]:
        """Every instance carrying the opt-in tag key, whatever its value, in every region; without
        `detail`, no disks or image names (two more reads per region: only an assessment needs them)."""
        found: dict[str, Ec2Facts] = {}
        for region in self._regions:
            filters = [{"Name": "tag-key", "Values": [f"{self._prefix}:enabled"]}]
            found |= self._describe(region, filters=filters, detail=detail)
        return found

    def opted_in_ids(self) -> dict[str, str]:
        """The instances whose opt-in tag says yes, by id, with their region: one paged
        `describe_tags` per region, four fields per instance where `describe_instances` returns
        dozens (discovery only needs to know which ones are new)."""
        key = [{"Name": "key", "Values": [f"{self._prefix}:enabled"]}]
        return {
            tag["ResourceId"]: region
            for region in self._regions
            for tag in self._tags(region, key)
            if str(tag.get("Value", "")).strip().lower() in TRUE_VALUES
        }

    def tagged(self, ids_by_region: dict[str, list[str]]) -> dict[str, Ec2Facts]:
        """Instances by id as their tags alone show them (`described` False: no state, addresses or
        disks): `describe_tags` by resource id, a few fields a tag where `describe_instances` returns
        about a hundred an instance. Ids without tags are absent; account ids are left blank."""
        found: dict[str, dict[str, str]] = {}
        for region, ids in ids_by_region.items():
            for chunk in _chunks(ids, FILTER_CHUNK):
                for tag in self._tags(region, [{"Name": "resource-id", "Values": chunk}]):
                    found.setdefault(tag["ResourceId"], {})[tag["Key"]] = str(tag.get("Value", ""))
        regions = {i: region for region, ids in ids_by_region.items() for i in ids}
        return {
            i: Ec2Facts(i, state="", tags=tags, region=regions[i], tag_prefix=self._prefix, described=False)
            for i, tags in found.items()
        }

    def _tags(self, region: str, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Instance tags matching `filters`, every page (DescribeTags: ResourceId, Key, Value)."""
        instances = [{"Name": "resource-type", "Values": ["instance"]}, *filters]
        with aws_errors(f"listing instance tags in {region}"):
            ec2 = self._clients("ec2", region)
            pages = ec2.get_paginator("describe_tags").paginate(
                Filters=instances, PaginationConfig={"PageSize": 1000}
            )
            return [tag for page in pages for tag in page["Tags"]]

    def instances(self, ids_by_region: dict[str, list[str]], *, detail: bool = True) -> dict[str, Ec2Facts]:
        """Instances by id (e.g. records whose tag was removed); unknown ids are simply absent.
        Without `detail`, no disks or image names."""
        found: dict[str, Ec2Facts] = {}
        for region, ids in ids_by_region.items():
            for chunk in _chunks(ids, FILTER_CHUNK):
                filters = [{"Name": "instance-id", "Values": chunk}]
                found |= self._describe(region, filters=filters, detail=detail)
        return found

    def _describe(
        self, region: str, filters: list[dict[str, Any]], *, detail: bool = True
    ) -> dict[str, Ec2Facts]:
        ec2 = self._clients("ec2", region)
        with aws_errors(f"describing instances in {region}"):
            pages = ec2.get_paginator("describe_instances").paginate(
                Filters=filters, PaginationConfig={"PageSize": 1000}
            )
            raw = [
                (r.get("OwnerId", ""), i)
                for page in pages
                for r in page["Reservations"]
                for i in r["Instances"]
            ]
            raw = [(owner, i) for owner, i in raw if i["State"]["Name"] != "terminated"]
            if not raw or not detail:
                return {i["InstanceId"]: self._facts(region, owner, i, {}, {}) for owner, i in raw}
            disks = self._disks(ec2, [i["InstanceId"] for _, i in raw])
            images = self._image_names(ec2, {i["ImageId"] for _, i in raw if i.get("ImageId")})
        return {i["InstanceId"]: self._facts(region, owner, i, disks, images) for owner, i in raw}

    def _disks(self, ec2: Any, instance_ids: list[str]) -> dict[str, list[Disk]]:
        disks: dict[str, list[Disk]] = {}
        for chunk in _chunks(instance_ids, FILTER_CHUNK):
            pages = ec2.get_paginator("describe_volumes").paginate(
                Filters=[{"Name": "attachment.instance-id", "Values": chunk}]
            )
            for page in pages:
                for volume in page["Volumes"]:
                    for attachment in volume.get("Attachments", []):
                        disks.setdefault(attachment["InstanceId"], []).append(
                            Disk(
                                attachment["Device"],
                                int(volume["Size"]),
                                is_root=False,  # set against the instance's root device name
                                volume_type=str(volume.get("VolumeType", "gp2")),
                                iops=int(volume.get("Iops") or 0),
                                encrypted=bool(volume.get("Encrypted", False)),
                                volume_id=str(volume.get("VolumeId", "")),
                            )
                        )
        return disks

    def _image_names(self, ec2: Any, image_ids: set[str]) -> dict[str, str]:
        names: dict[str, str] = {}
        for chunk in _chunks(sorted(image_ids), FILTER_CHUNK):
            for image in ec2.describe_images(Filters=[{"Name": "image-id", "Values": chunk}])["Images"]:
                names[image["ImageId"]] = f"{image.get('Name', '')} {image.get('Description', '')}".strip()
        return names

    def _facts(
        self,
        region: str,
        owner: str,
        i: dict[str, Any],
        disks: dict[str, list[Disk]],
        images: dict[str, str],
    ) -> Ec2Facts:
        root = i.get("RootDeviceName", "")
        nics = i.get("NetworkInterfaces", [])
        has_ipv6 = any(n.get("Ipv6Addresses") for n in nics)
        return Ec2Facts(
            instance_id=i["InstanceId"],
            state=i["State"]["Name"],
            region=region,
            account_id=owner,
            tags={t["Key"]: t["Value"] for t in i.get("Tags", [])},
            tag_prefix=self._prefix,
            platform=i.get("PlatformDetails")
            or ("Windows" if i.get("Platform") == "windows" else "Linux/UNIX"),
            image_name=images.get(i.get("ImageId", ""), ""),
            virtualization_type=i.get("VirtualizationType", "hvm"),
            architecture=i.get("Architecture", "x86_64"),
            boot_mode=i.get("CurrentInstanceBootMode") or i.get("BootMode") or "legacy-bios",
            disks=tuple(replace(d, is_root=d.device == root) for d in disks.get(i["InstanceId"], [])),
            private_ip=i.get("PrivateIpAddress", ""),
            hostname=i.get("PrivateDnsName", ""),
            instance_type=i.get("InstanceType", ""),
            nic_count=max(len(nics), 1),
            ipv6_only=has_ipv6 and not i.get("PrivateIpAddress"),
            security_groups=tuple(g["GroupId"] for g in i.get("SecurityGroups", []) if g.get("GroupId")),
        )

    def instance_types(self, region: str, names: set[str]) -> dict[str, InstanceTypeFacts]:
        """The like-for-like baseline of each type, in calls of 100; unknown types are left out."""
        ec2 = self._clients("ec2", region)
        found: dict[str, InstanceTypeFacts] = {}
        for chunk in _chunks(sorted(n for n in names if n), 100):
            for raw in self._describe_types(ec2, region, chunk):
                found[raw["InstanceType"]] = _instance_type(raw)
        return found

    def _describe_types(self, ec2: Any, region: str, names: list[str]) -> list[dict[str, Any]]:
        with aws_errors(f"describing instance types in {region}"):
            try:
                return list(ec2.describe_instance_types(InstanceTypes=names)["InstanceTypes"])
            except ClientError as error:
                if _code(error) != "InvalidInstanceType":
                    raise
        if len(names) == 1:
            return []  # a retired or mistyped type: those instances are sized by their tags
        return [t for name in names for t in self._describe_types(ec2, region, [name])]

    def command(self, region: str, instance_id: str, command_id: str) -> CommandFacts | None:
        """A command's outcome on one instance (only VMs waiting on one ask)."""
        ssm = self._clients("ssm", region)
        try:
            with aws_errors(f"reading command {command_id} on {instance_id}"):
                invocation = ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id)
        except ActionRefused:
            return None  # not visible yet
        sent = invocation.get("ExecutionStartDateTime") or ""
        status = str(invocation.get("Status", "Pending"))
        output = str(invocation.get("StandardOutputContent", ""))
        return CommandFacts(command_id, status, _parse_time(sent), output)

    def find_command(
        self, region: str, instance_id: str, comment: str, since: datetime
    ) -> CommandFacts | None:
        """The latest command whose comment starts with `comment` sent to the instance since `since`:
        finds the effect of an intent whose command id was lost in a crash (one paged listing)."""
        ssm = self._clients("ssm", region)
        with aws_errors(f"listing commands sent to {instance_id}"):
            pages = ssm.get_paginator("list_commands").paginate(InstanceId=instance_id)
            sent = [
                c
                for page in pages
                for c in page["Commands"]
                if str(c.get("Comment", "")).startswith(comment)
                and _parse_time(c["RequestedDateTime"]) >= since
            ]
        if not sent:
            return None
        latest = max(sent, key=lambda c: _parse_time(c["RequestedDateTime"]))
        return self.command(region, instance_id, str(latest["CommandId"]))

    def ssm_managed(self, region: str, instance_ids: list[str]) -> set[str]:
        """Which of these instances SSM manages and can reach now (PingStatus Online), 50 a call."""
        ssm = self._clients("ssm", region)
        online: set[str] = set()
        for chunk in _chunks(instance_ids, SSM_TARGETS_PER_CALL):
            with aws_errors(f"reading SSM management in {region}"):
                pages = ssm.get_paginator("describe_instance_information").paginate(
                    Filters=[{"Key": "InstanceIds", "Values": chunk}]
                )
                for page in pages:
                    online |= {
                        i["InstanceId"]
                        for i in page["InstanceInformationList"]
                        if i.get("PingStatus") == "Online"
                    }
        return online

    # --- actions ---------------------------------------------------------------------------------

    def set_status(self, facts: Ec2Facts, status: str) -> bool:
        """Writes the status tag when it differs; True if it wrote."""
        key = f"{self._prefix}:status"
        value = status[:256]
        if facts.tags.get(key) == value:
            return False
        with aws_errors(f"tagging {facts.instance_id}"):
            self._clients("ec2", facts.region).create_tags(
                Resources=[facts.instance_id], Tags=[{"Key": key, "Value": value}]
            )
        return True

    def stop(self, facts: Ec2Facts) -> None:
        with aws_errors(f"stopping {facts.instance_id}"):
            self._clients("ec2", facts.region).stop_instances(InstanceIds=[facts.instance_id])

    def start(self, facts: Ec2Facts) -> None:
        with aws_errors(f"starting {facts.instance_id}"):
            self._clients("ec2", facts.region).start_instances(InstanceIds=[facts.instance_id])

    def install_agent(self, facts: Ec2Facts, install: AgentInstall, *, attempt: str = "") -> str:
        """Sends our agent-install document to exactly this instance; returns the command id. The
        comment names the attempt, so a command sent for it can be found again."""
        parameters = agent_parameters(install, facts.is_windows)
        name = document_name(self._documents, install.document_kind, facts.is_windows)
        return self._run(facts, name, parameters, f"{AGENT_COMMENT} {attempt} ({install.mode})")

    def guest_check(self, facts: Ec2Facts, appliance_address: str, *, attempt: str = "") -> str:
        """Sends our read-only guest-check document to exactly this instance; returns the command id."""
        parameters = guest_check_parameters(checked_address(appliance_address))
        name = document_name(self._documents, GUEST_CHECKS, facts.is_windows)
        return self._run(facts, name, parameters, f"{GUEST_CHECK_COMMENT} {attempt}".strip())

    def _run(self, facts: Ec2Facts, document: str, parameters: dict[str, list[str]], comment: str) -> str:
        with aws_errors(f"sending {document} to {facts.instance_id}"):
            sent = self._clients("ssm", facts.region).send_command(
                InstanceIds=[facts.instance_id], DocumentName=document, Parameters=parameters, Comment=comment
            )
        return str(sent["Command"]["CommandId"])


def _instance_type(raw: dict[str, Any]) -> InstanceTypeFacts:
    storage = raw.get("InstanceStorageInfo", {})
    return InstanceTypeFacts(
        name=raw["InstanceType"],
        vcpus=int(raw["VCpuInfo"]["DefaultVCpus"]),
        memory_mib=int(raw["MemoryInfo"]["SizeInMiB"]),
        max_nics=int(raw.get("NetworkInfo", {}).get("MaximumNetworkInterfaces", 1)),
        instance_store_disks=sum(int(d.get("Count", 0)) for d in storage.get("Disks", [])),
        instance_store_gb=int(storage.get("TotalSizeInGB", 0)),
    )


def _chunks(values: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for value in values:
        chunk.append(value)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", "ClientError"))


@contextlib.contextmanager
def aws_errors(what: str) -> Iterator[None]:
    try:
        yield
    except ClientError as error:
        code = _code(error)
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400))
        message = str(error.response.get("Error", {}).get("Message", ""))
        if code in _THROTTLED or status >= 500:
            raise CloudUnavailable(f"{what}: AWS answered {code}") from error
        raise ActionRefused(code, f"{what}: {message}") from error
    except BotoCoreError as error:
        raise CloudUnavailable(f"{what}: AWS unreachable ({type(error).__name__})") from error

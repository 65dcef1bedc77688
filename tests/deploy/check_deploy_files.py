#!/usr/bin/env python3
"""deploy/kubernetes/meridian.yaml and deploy/Containerfile keep the properties the
README promises, and the configuration each ships passes `meridian check`.

Usage: check_deploy_files.py SOURCE_DIR MERIDIAN_BINARY

No image is built and nothing is applied to a cluster (no base images, no cluster here):
the files are parsed and checked for their structure.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

SOURCE, MERIDIAN = sys.argv[1], sys.argv[2]
failures = []


def expect(condition, message):
    if not condition:
        failures.append(message)
        print("FAIL: " + message)


def meridian_check(config_text, files, label):
    """`meridian check` on config_text with /etc/meridian/... paths moved to a temp dir holding files."""
    work = tempfile.mkdtemp(prefix="meridian-deploy-")
    try:
        for rel, text in files.items():
            path = os.path.join(work, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
        config = config_text.replace("/etc/meridian/", work + "/").replace("/usr/share/meridian/", work + "/share/")
        config_path = os.path.join(work, "config", "meridian.json")
        os.makedirs(os.path.dirname(config_path), exist_ok=True)
        with open(config_path, "w") as f:
            f.write(config)
        r = subprocess.run([MERIDIAN, "check", "--config", config_path], capture_output=True, text=True, timeout=120)
        expect(r.returncode == 0, f"{label}: meridian check exited {r.returncode}:\n{r.stdout}{r.stderr}")
        return json.loads(config_text)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def host_port(listen):
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


def check_manifest():
    with open(os.path.join(SOURCE, "deploy", "kubernetes", "meridian.yaml")) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    workloads = list(by_kind.get("Deployment", {}).values()) + list(by_kind.get("DaemonSet", {}).values())
    expect(len(workloads) == 1, "one Deployment or DaemonSet")
    if not workloads:
        return
    pod = workloads[0]["spec"]["template"]["spec"]
    expect(not pod.get("hostNetwork", False), "no hostNetwork: the admin port stays off the node's address")
    containers = pod["containers"]
    expect(len(containers) == 1, "one container")
    c = containers[0]

    # Every ConfigMap (and Secret) a volume names is defined here, and every volume is mounted.
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for name, v in volumes.items():
        if "configMap" in v:
            expect(v["configMap"]["name"] in by_kind.get("ConfigMap", {}), f"volume {name}: ConfigMap {v['configMap']['name']} defined")
        if "secret" in v:
            expect(v["secret"]["secretName"] in by_kind.get("Secret", {}), f"volume {name}: Secret defined")
        expect("hostPath" not in v, f"volume {name}: no hostPath")
    mounts = {m["name"]: m for m in c.get("volumeMounts", [])}
    expect(set(mounts) == set(volumes), f"every volume mounted and every mount a volume: {sorted(mounts)} vs {sorted(volumes)}")
    mounted = {m["mountPath"]: volumes[m["name"]] for m in mounts.values() if m["name"] in volumes}
    for path in ("/etc/meridian/config", "/etc/meridian/zones", "/etc/meridian/health"):
        expect(path in mounted and "configMap" in mounted[path], f"{path} mounted from a ConfigMap")

    # DNS over UDP and TCP as separate ports; the Service publishes both on 53.
    ports = c.get("ports", [])
    by_protocol = {(p.get("protocol", "TCP"), p["containerPort"]) for p in ports}
    expect(("UDP", 53) in by_protocol and ("TCP", 53) in by_protocol, "container ports 53/UDP and 53/TCP")
    services = list(by_kind.get("Service", {}).values())
    published = {(p.get("protocol", "TCP"), p["port"]) for s in services for p in s["spec"]["ports"]}
    expect(("UDP", 53) in published and ("TCP", 53) in published, "a Service publishes 53/UDP and 53/TCP")
    admin_port = next((p["containerPort"] for p in ports if p.get("name") == "admin"), None)
    expect(admin_port is not None, "an admin port named admin")
    for s in services:
        for p in s["spec"]["ports"]:
            expect(p.get("targetPort") not in ("admin", admin_port), f"Service {s['metadata']['name']} does not publish the admin port")

    # Security context: non-root, read-only root, no privilege escalation, drop ALL, add only NET_BIND_SERVICE.
    sc = c.get("securityContext", {})
    pod_sc = pod.get("securityContext", {})
    expect(sc.get("runAsNonRoot") is True or pod_sc.get("runAsNonRoot") is True, "runAsNonRoot")
    uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
    expect(isinstance(uid, int) and uid > 0, "a non-zero runAsUser")
    expect(sc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem")
    expect(sc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation: false")
    caps = sc.get("capabilities", {})
    expect(caps.get("drop") == ["ALL"], "capabilities drop ALL")
    expect(caps.get("add") == ["NET_BIND_SERVICE"], "capabilities add NET_BIND_SERVICE only")
    sysctls = {s["name"]: s["value"] for s in pod_sc.get("sysctls", [])}
    expect(int(sysctls.get("net.ipv4.ip_unprivileged_port_start", "1024")) <= 53,
           "port 53 bindable without privilege escalation (net.ipv4.ip_unprivileged_port_start)")

    # Probes: readiness on /readyz, liveness on /healthz, on the admin port.
    def probe(name):
        return c.get(name, {}).get("httpGet", {})
    for name, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        p = probe(name)
        expect(p.get("path") == path, f"{name} on {path}")
        expect(p.get("port") in ("admin", admin_port), f"{name} on the admin port")

    # The shipped configuration: passes meridian check with the shipped zones and health files,
    # listens where the container ports say, and its admin endpoint has a token unless on loopback.
    config_map = by_kind["ConfigMap"]
    config_text = config_map[volumes[mounts_by_path(mounts, "/etc/meridian/config")]["configMap"]["name"]]["data"]["meridian.json"]
    files = {}
    for mount_path, sub in (("/etc/meridian/zones", "zones"), ("/etc/meridian/health", "health")):
        cm = config_map[volumes[mounts_by_path(mounts, mount_path)]["configMap"]["name"]]
        for name, text in cm.get("data", {}).items():
            files[f"{sub}/{name}"] = text
    arg_config = c["args"][c["args"].index("--config") + 1]
    expect(arg_config.startswith("/etc/meridian/config/"), "--config names the mounted meridian.json")
    config = meridian_check(config_text, files, "kubernetes meridian.json")
    listens = [host_port(l) for l in config["dns"]["listen"]]
    expect(all(port == 53 for _, port in listens), "DNS listens on port 53")
    expect(all(host in ("0.0.0.0", "::") for host, _ in listens), "DNS listens on every address of the pod")
    admin_host, port = host_port(config["admin"]["listen"])
    expect(port == admin_port, "the admin endpoint listens on the admin container port")
    expect(admin_host in ("127.0.0.1", "::1") or config["admin"].get("token"), "the admin endpoint on loopback or behind a token")
    secret = by_kind.get("Secret", {}).get("meridian-admin-token")
    expect(secret is not None and secret["stringData"]["token"] == config["admin"].get("token"),
           "the meridian-admin-token Secret holds the same token")


def mounts_by_path(mounts, path):
    for m in mounts.values():
        if m["mountPath"] == path:
            return m["name"]
    raise KeyError(path)


def build_packages():
    """The library packages scripts/deps.sh installs for the build (doctest-dev: tests only)."""
    with open(os.path.join(SOURCE, "scripts", "deps.sh")) as f:
        text = f.read()
    listed = re.search(r"packages=\((.*?)\n\)", text, re.S).group(1).split()
    return [p for p in listed if p.endswith("-dev") and (p.startswith("lib") or p.startswith("nlohmann"))]


# In bookworm-slim already, or the sanitizers' runtime of a test build (not in the image).
BASE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6", "libasan8", "libubsan1"}


def runtime_packages():
    """Debian packages holding the shared libraries the binary loads (ldd, then dpkg -S), and the
    allocator's: the image builds with the default allocator, a sanitizer build links none."""
    out = subprocess.run(["ldd", MERIDIAN], capture_output=True, text=True, timeout=60).stdout
    paths = re.findall(r"=> (/\S+)", out)
    mimalloc = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, timeout=60).stdout
    paths += re.findall(r"libmimalloc\.so\.2 \(.*?\) => (/\S+)", mimalloc)[:1]
    expect(any("libmimalloc" in p for p in paths), "libmimalloc.so.2 is installed (scripts/deps.sh)")
    packages = set()
    for path in paths:
        owner = subprocess.run(["dpkg", "-S", os.path.realpath(path)], capture_output=True, text=True, timeout=60)
        if owner.returncode != 0:  # /lib is /usr/lib merged: dpkg may know the other spelling
            owner = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True, timeout=60)
        expect(owner.returncode == 0, f"dpkg knows the package of {path}")
        if owner.returncode == 0:
            packages.add(owner.stdout.split(":")[0])
    return sorted(packages - BASE_PACKAGES)


def check_containerfile():
    with open(os.path.join(SOURCE, "deploy", "Containerfile")) as f:
        text = f.read()
    # Join continuation lines; drop comments.
    lines = []
    for raw in re.sub(r"\\\n", " ", text).splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            lines.append(line)
    stages = [i for i, l in enumerate(lines) if l.upper().startswith("FROM ")]
    expect(len(stages) >= 2, "a build stage and a runtime stage")
    runtime = lines[stages[-1]:]
    instruction = lambda name: [l for l in runtime if l.split()[0].upper() == name]
    expect(runtime[0].split()[1].startswith("debian:"), "a Debian runtime base")
    users = instruction("USER")
    expect(users and users[-1].split()[1] not in ("root", "0"), "runs as a non-root USER")
    expect(any("setcap cap_net_bind_service=+ep /usr/local/bin/meridian" in l for l in instruction("RUN")),
           "the binary gets cap_net_bind_service (port 53 without root)")
    health = instruction("HEALTHCHECK")
    expect(len(health) == 1 and "/healthz" in health[0], "HEALTHCHECK on /healthz")
    copies = {l.split()[-2]: l.split()[-1] for l in instruction("COPY") if not l.startswith("COPY --from")}
    for src, dst in (("deploy/container.json", "/etc/meridian/meridian.json"), ("zones", "/etc/meridian/zones"),
                     ("geodata", "/etc/meridian/geodata"), ("health", "/etc/meridian/health")):
        expect(copies.get(src) == dst, f"COPY {src} {dst}")
        expect(os.path.exists(os.path.join(SOURCE, src)), f"{src} exists in the repository")
    expect(any(l.startswith("COPY --from=build") and "/usr/local/bin/meridian" in l for l in runtime),
           "the binary from the build stage")
    entry = " ".join(instruction("ENTRYPOINT") + instruction("CMD"))
    expect("/etc/meridian/meridian.json" in entry, "serves /etc/meridian/meridian.json")
    exposed = " ".join(instruction("EXPOSE"))
    expect("53/udp" in exposed and "53/tcp" in exposed, "EXPOSE 53/udp and 53/tcp")
    # The build stage installs every library package scripts/deps.sh installs to build (its
    # lib*-dev and *-dev lines name what CMakeLists.txt finds), so the two cannot drift apart.
    build = " ".join(lines[stages[0]:stages[-1]]).split()
    for package in build_packages():
        expect(package in build, f"the build stage installs {package} (scripts/deps.sh builds with it)")
    # The runtime stage installs the package of every shared library the binary loads.
    runtime_installs = " ".join(instruction("RUN")).split()
    for package in runtime_packages():
        expect(package in runtime_installs, f"the runtime stage installs {package} (meridian loads a library of it)")

    ignore = os.path.join(SOURCE, ".containerignore")
    expect(os.path.exists(ignore), ".containerignore exists")
    if os.path.exists(ignore):
        with open(ignore) as f:
            patterns = {l.strip() for l in f if l.strip() and not l.startswith("#")}
        for p in (".git", "build"):
            expect(p in patterns, f".containerignore leaves out {p}")
        for needed in ("deploy", "zones", "geodata", "health", "lib", "server", "schema"):
            expect(needed not in patterns, f".containerignore keeps {needed}")

    # deploy/container.json: every address, admin on loopback (the HEALTHCHECK runs inside), and it checks.
    with open(os.path.join(SOURCE, "deploy", "container.json")) as f:
        container_text = f.read()
    files = {}
    for folder in ("zones", "geodata", "health"):
        for name in os.listdir(os.path.join(SOURCE, folder)):
            path = os.path.join(SOURCE, folder, name)
            if os.path.isfile(path) and not name.endswith(".mmdb"):
                with open(path) as f:
                    files[f"{folder}/{name}"] = f.read()
    work_mmdb = [n for n in os.listdir(os.path.join(SOURCE, "geodata")) if n.endswith(".mmdb")]
    config = json.loads(container_text)
    expect(all(host_port(l)[0] in ("0.0.0.0", "::") for l in config["dns"]["listen"]), "container.json listens on every address")
    expect(all(host_port(l)[1] == 53 for l in config["dns"]["listen"]), "container.json listens on port 53")
    expect(host_port(config["admin"]["listen"]) == ("127.0.0.1", 9153), "container.json: admin on 127.0.0.1:9153 (the HEALTHCHECK's)")
    # The .mmdb files are binary: check with them copied as bytes.
    work = tempfile.mkdtemp(prefix="meridian-container-")
    try:
        for rel, text in files.items():
            os.makedirs(os.path.join(work, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(work, rel), "w") as f:
                f.write(text)
        for name in work_mmdb:
            shutil.copy(os.path.join(SOURCE, "geodata", name), os.path.join(work, "geodata", name))
        config_path = os.path.join(work, "meridian.json")
        with open(config_path, "w") as f:
            f.write(container_text.replace("/etc/meridian/", work + "/"))
        r = subprocess.run([MERIDIAN, "check", "--config", config_path], capture_output=True, text=True, timeout=120)
        expect(r.returncode == 0, f"container.json: meridian check exited {r.returncode}:\n{r.stdout}{r.stderr}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


check_manifest()
check_containerfile()
print(f"{len(failures)} problem(s)")
sys.exit(1 if failures else 0)

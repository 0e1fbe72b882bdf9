"""A real JupyterHub for a class (``make hub``): 5 students log in through the hub's own login form, start
their servers and run notebook 02 of the student edition concurrently through the Jupyter server API.

Checks: every login works, a wrong password is refused (403, no session), one student cannot open another's
server (403), every student got their own copy of the notebooks, and all five runs finish with no error
outside ``raises-exception`` cells. Prints per-student peak kernel memory (VmHWM) and the wall time.
Skips only when configurable-http-proxy (npm) is not installed (``make classroom`` installs it).
"""
from __future__ import annotations

import asyncio
import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HUB = ROOT / "hub"
NB = "02_convolution.ipynb"
STUDENTS = [f"student{k:02d}" for k in range(1, 6)]
CHP = ROOT / ".venv" / "node" / "node_modules" / ".bin" / "configurable-http-proxy"

requests = pytest.importorskip("requests")
sys.path.insert(0, str(HUB))
import roster  # noqa: E402


def _chp() -> str | None:
    return str(CHP) if CHP.exists() else shutil.which("configurable-http-proxy")


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _login(base: str, username: str, password: str) -> tuple[requests.Session, requests.Response]:
    s = requests.Session()
    r = s.get(f"{base}/hub/login", timeout=30)
    r.raise_for_status()
    xsrf = s.cookies.get("_xsrf")
    assert xsrf, "the hub's login page set no _xsrf cookie"
    r = s.post(f"{base}/hub/login", data={"username": username, "password": password, "_xsrf": xsrf},
               allow_redirects=False, timeout=60)
    return s, r


def _server_xsrf(s: requests.Session, base: str, user: str) -> str:
    for c in s.cookies:
        if c.name == "_xsrf" and c.path.startswith(f"/user/{user}"):
            return c.value
    raise AssertionError(f"no _xsrf cookie for /user/{user}/ in {[(c.name, c.path) for c in s.cookies]}")


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    chp = _chp()
    if chp is None:
        pytest.skip("configurable-http-proxy is not installed (npm); `make classroom` installs it into .venv/node")
    pytest.importorskip("jupyterhub", reason="the classroom extra is not installed: run `make classroom`")
    state = tmp_path_factory.mktemp("hub")
    roster_csv = state / "roster.csv"
    roster_csv.write_text("username,full_name,role\ninstructor,Teacher,admin\n"
                          + "".join(f"{u},Student {u[-2:]},student\n" for u in STUDENTS))
    passwords = roster.generate(roster_csv, state)
    assert (state / "passwords.csv").stat().st_mode & 0o077 == 0, "passwords.csv must be private (0600)"
    edition = state / "student"
    spec = __import__("importlib.util").util.spec_from_file_location("eds", ROOT / "tools" / "editions.py")
    eds = __import__("importlib.util").util.module_from_spec(spec)
    spec.loader.exec_module(eds)
    eds.build("student", edition, [ROOT / "notebooks" / NB])
    port, api_port, proxy_port = _free_ports(3)
    env = dict(os.environ, MEDLAB_HUB_PORT=str(port), MEDLAB_HUB_API_PORT=str(api_port),
               MEDLAB_PROXY_API_PORT=str(proxy_port), MEDLAB_HUB_DIR=str(state),
               MEDLAB_STUDENT_EDITION=str(edition), MEDLAB_CULL_TIMEOUT="3600", MEDLAB_MEM_LIMIT="3G",
               PATH=f"{Path(sys.executable).parent}:{Path(chp).parent}:{os.environ.get('PATH', '')}")
    env.pop("MEDLAB_HEADLESS", None)
    log = (state / "hub.log").open("w")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "jupyterhub"), "-f", str(HUB / "jupyterhub_config.py")],
                            cwd=state, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            if requests.get(f"{base}/hub/api", timeout=5).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            log.flush()
            proc.kill()
            pytest.fail(f"the hub did not start:\n{(state / 'hub.log').read_text()[-4000:]}")
        time.sleep(1)
    yield {"base": base, "passwords": passwords, "state": state, "proc": proc}
    proc.send_signal(signal.SIGTERM)                # the hub stops the single-user servers it started
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    log.close()


def test_the_hub_listens_on_loopback_only(hub):
    import psutil
    hub_pids = {hub["proc"].pid} | {p.pid for p in psutil.Process(hub["proc"].pid).children(recursive=True)}
    listening = [c for c in psutil.net_connections("inet") if c.status == psutil.CONN_LISTEN and c.pid in hub_pids]
    assert listening, "found no listening socket of the hub"
    assert all(c.laddr.ip in ("127.0.0.1", "::1") for c in listening), [c.laddr for c in listening]


def test_a_wrong_password_is_refused(hub):
    s, r = _login(hub["base"], STUDENTS[0], hub["passwords"][STUDENTS[0]] + "x")
    assert r.status_code == 403 and "Invalid username or password" in r.text
    assert s.get(f"{hub['base']}/hub/api/user", timeout=30).status_code in (401, 403)
    s, r = _login(hub["base"], "mallory", "anything")
    assert r.status_code == 403


@pytest.fixture(scope="module")
def sessions(hub):
    """Each student logged in through the login form, with a running server and its OAuth cookie."""
    out = {}
    for user in STUDENTS:
        s, r = _login(hub["base"], user, hub["passwords"][user])
        assert r.status_code == 302, f"{user}: login answered {r.status_code}"
        out[user] = s
    t0 = time.monotonic()
    for user, s in out.items():                      # start all five, then wait for all
        xsrf = s.cookies.get("_xsrf", path="/hub/")
        r = s.post(f"{hub['base']}/hub/api/users/{user}/server", headers={"X-XSRFToken": xsrf}, timeout=60)
        assert r.status_code in (201, 202), f"{user}: starting the server answered {r.status_code} {r.text[:300]}"
    for user, s in out.items():
        deadline = time.monotonic() + 240
        while True:
            r = s.get(f"{hub['base']}/user/{user}/lab", timeout=60)   # OAuth dance: hub -> server cookie
            if r.status_code == 200 and f"/user/{user}/" in r.url:
                break
            assert time.monotonic() < deadline, f"{user}: server not ready: {r.status_code} {r.url}"
            time.sleep(2)
    print(f"\n5 servers started in {time.monotonic() - t0:.1f} s")
    return out


def test_each_student_has_an_own_copy_and_cannot_open_anothers_server(hub, sessions):
    base = hub["base"]
    for user, s in sessions.items():
        r = s.get(f"{base}/user/{user}/api/contents/notebooks/{NB}", timeout=60)
        assert r.status_code == 200, f"{user}: {r.status_code}"
        assert (hub["state"] / "users" / user / "notebooks" / NB).is_file()
    a, b = STUDENTS[0], STUDENTS[1]
    r = sessions[a].get(f"{base}/user/{b}/api/contents", timeout=60)
    assert r.status_code == 403, f"{a} opened {b}'s server: {r.status_code} {r.url}"
    r = sessions[a].get(f"{base}/user/{b}/lab", timeout=60)
    assert r.status_code == 403, f"{a} opened {b}'s lab: {r.status_code} {r.url}"


async def _run_notebook(base: str, user: str, s: requests.Session) -> dict:
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect
    import psutil

    xsrf = _server_xsrf(s, base, user)
    headers = {"X-XSRFToken": xsrf}
    nb = s.get(f"{base}/user/{user}/api/contents/notebooks/{NB}", timeout=60).json()["content"]
    r = s.post(f"{base}/user/{user}/api/sessions", headers=headers, timeout=120,
               json={"path": f"notebooks/{NB}", "type": "notebook", "name": NB, "kernel": {"name": "python3"}})
    assert r.status_code == 201, f"{user}: session {r.status_code} {r.text[:300]}"
    kernel_id = r.json()["kernel"]["id"]
    cookie = "; ".join(f"{c.name}={c.value}" for c in s.cookies)
    ws_url = base.replace("http", "ws") + f"/user/{user}/api/kernels/{kernel_id}/channels?_xsrf={xsrf}"
    conn = await websocket_connect(HTTPRequest(ws_url, headers={"Cookie": cookie, "Origin": base}),
                                   max_message_size=256 * 2**20)
    errors, t0 = [], time.monotonic()
    for k, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code" or not "".join(cell["source"]).strip():
            continue
        msg_id = uuid.uuid4().hex
        await conn.write_message(json.dumps({
            "header": {"msg_id": msg_id, "username": user, "session": uuid.uuid4().hex, "msg_type": "execute_request",
                       "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": "".join(cell["source"]), "silent": False, "store_history": True,
                        "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}))
        while True:
            raw = await asyncio.wait_for(conn.read_message(), timeout=600)
            assert raw is not None, f"{user}: the kernel's websocket closed at cell {k} (kernel died?)"
            if isinstance(raw, bytes):
                continue
            msg = json.loads(raw)
            if msg.get("parent_header", {}).get("msg_id") == msg_id and msg.get("msg_type") == "execute_reply":
                if msg["content"]["status"] != "ok" and "raises-exception" not in cell["metadata"].get("tags", []):
                    errors.append((k, msg["content"].get("ename"), msg["content"].get("evalue", "")[:200]))
                break
    wall = time.monotonic() - t0
    conn.close()
    peak = 0
    for p in psutil.process_iter(["cmdline"]):
        if any(kernel_id in part for part in (p.info["cmdline"] or [])):
            try:
                for line in Path(f"/proc/{p.pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]) * 1024)
                cpu = sum(p.cpu_times()[:2])
            except (OSError, psutil.Error):
                cpu = float("nan")
    s.delete(f"{base}/user/{user}/api/kernels/{kernel_id}", headers=headers, timeout=60)
    return {"user": user, "errors": errors, "wall_s": wall, "peak_mib": peak / 2**20, "cpu_s": cpu}


def test_five_students_run_notebook_02_concurrently(hub, sessions):
    base, results = hub["base"], {}

    def worker(user):
        results[user] = asyncio.run(_run_notebook(base, user, sessions[user]))

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(u,)) for u in STUDENTS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=1800)
    wall = time.monotonic() - t0
    print(f"\nfive students, {NB} concurrently on {os.cpu_count()} cores: wall {wall:.1f} s")
    print("student     wall s   kernel CPU s   peak kernel memory (VmHWM) MiB")
    for u in STUDENTS:
        r = results.get(u)
        if r:
            print(f"{u}  {r['wall_s']:7.1f}  {r['cpu_s']:12.1f}  {r['peak_mib']:10.0f}")
    (hub["state"] / "report.json").write_text(json.dumps({"wall_s": wall, "students": results}, indent=1))
    assert set(results) == set(STUDENTS), f"runs that did not finish: {set(STUDENTS) - set(results)}"
    failed = {u: r["errors"] for u, r in results.items() if r["errors"]}
    assert not failed, f"cells that raised: {failed}"
    assert all(r["peak_mib"] > 50 for r in results.values()), "kernel memory was not measured"


def test_zero_to_jupyterhub_values_set_what_a_class_needs():
    yaml = pytest.importorskip("yaml", reason="PyYAML comes with the classroom extra: `make classroom`")
    values = yaml.safe_load((HUB / "values.yaml").read_text())
    mem = values["singleuser"]["memory"]
    assert mem["limit"] and mem["guarantee"], "memory limit and guarantee must be set"
    to_bytes = {"K": 2**10, "M": 2**20, "G": 2**30}
    assert to_bytes[mem["guarantee"][-1]] * float(mem["guarantee"][:-1]) <= \
        to_bytes[mem["limit"][-1]] * float(mem["limit"][:-1])
    assert values["cull"]["enabled"] is True and int(values["cull"]["timeout"]) > 0
    assert values["singleuser"]["image"]["name"] and str(values["singleuser"]["image"]["tag"])
    assert "repo2docker" in (HUB / "values.yaml").read_text() and "environment.yml" in (HUB / "values.yaml").read_text()


def test_roster_errors_are_clear(tmp_path):
    bad = tmp_path / "r.csv"
    bad.write_text("username,full_name,role\nAlice Smith,A,student\n")
    with pytest.raises(ValueError, match="line 2: username 'Alice Smith'"):
        roster.generate(bad, tmp_path)
    bad.write_text("username,full_name,role\nalice,A,student\nalice,B,student\n")
    with pytest.raises(ValueError, match="listed twice"):
        roster.generate(bad, tmp_path)
    bad.write_text("username,full_name,role\nalice,A,teacher\n")
    with pytest.raises(ValueError, match="role 'teacher'"):
        roster.generate(bad, tmp_path)
    good = tmp_path / "g.csv"
    good.write_text("username,full_name,role\nalice,A,student\nbob,B,admin\n")
    first = roster.generate(good, tmp_path / "out")
    again = roster.generate(good, tmp_path / "out")
    assert first == again and len(set(first.values())) == 2         # passwords are kept across runs
    users = roster.load_users(tmp_path / "out" / "roster.json")
    assert roster.check_password(users, "alice", first["alice"])
    assert not roster.check_password(users, "alice", first["bob"]) and not roster.check_password(users, "eve", "x")
    assert first["alice"] not in (tmp_path / "out" / "roster.json").read_text()

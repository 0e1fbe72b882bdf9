# JupyterHub for a MedLab class on one server: `make hub` (run from build/hub/, the hub's state folder).
#
#   login        per-student passwords generated from the roster (hub/roster.py -> build/hub/passwords.csv)
#   servers      each student's own folder build/hub/users/<name>/ with a copy of the student edition
#   memory       MEDLAB_MEM_LIMIT per user (default 2G: a kernel peaks at up to ~1 GiB, plus the server)
#   idle culler  jupyterhub-idle-culler stops servers idle for MEDLAB_CULL_TIMEOUT seconds (default 3600)
#   network      bound to 127.0.0.1 only (MEDLAB_HUB_IP to change it: then put HTTPS in front, hub/README.md)
#
# Environment (all optional): MEDLAB_HUB_PORT (8000), MEDLAB_HUB_IP (127.0.0.1), MEDLAB_HUB_API_PORT (8081),
# MEDLAB_PROXY_API_PORT (8001), MEDLAB_HUB_DIR (cwd), MEDLAB_STUDENT_EDITION (build/student),
# MEDLAB_MEM_LIMIT (2G), MEDLAB_CULL_TIMEOUT (3600), MEDLAB_HUB_CONCURRENT (class size + 5).
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from roster import RosterAuthenticator, load_users  # noqa: E402
from spawner import MedLabSpawner  # noqa: E402

c = get_config()  # noqa: F821  (provided by JupyterHub)

state = Path(os.environ.get("MEDLAB_HUB_DIR", os.getcwd())).resolve()
bin_dir = Path(sys.executable).parent
ip = os.environ.get("MEDLAB_HUB_IP", "127.0.0.1")
port = int(os.environ.get("MEDLAB_HUB_PORT", "8000"))

# --- network: everything on loopback unless the instructor says otherwise ---------------------------------
c.JupyterHub.bind_url = f"http://{ip}:{port}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ.get("MEDLAB_HUB_API_PORT", "8081"))
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{int(os.environ.get('MEDLAB_PROXY_API_PORT', '8001'))}"
chp = REPO / ".venv" / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
if chp.exists():
    c.ConfigurableHTTPProxy.command = [str(chp)]
c.ConfigurableHTTPProxy.debug = False

# --- state (database, cookie secret, proxy token) in the hub folder, not in the repo ------------------------
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")

# --- who may log in --------------------------------------------------------------------------------------
c.JupyterHub.authenticator_class = RosterAuthenticator
c.RosterAuthenticator.roster_file = str(state / "roster.json")
users = load_users(state / "roster.json")
c.Authenticator.admin_users = {u for u, e in users.items() if e["role"] == "admin"}

# --- each student's server -------------------------------------------------------------------------------
c.JupyterHub.spawner_class = MedLabSpawner
c.MedLabSpawner.home_dir_template = str(state / "users" / "{username}")
c.MedLabSpawner.edition_dir = os.environ.get("MEDLAB_STUDENT_EDITION", str(REPO / "build" / "student"))
c.Spawner.cmd = [str(bin_dir / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab/tree/notebooks/00_welcome.ipynb"
c.Spawner.args = ["--ServerApp.terminals_enabled=False"]   # the class works in notebooks
if os.geteuid() == 0:
    c.Spawner.args.append("--allow-root")
c.Spawner.mem_limit = os.environ.get("MEDLAB_MEM_LIMIT", "2G")
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.JupyterHub.concurrent_spawn_limit = int(os.environ.get("MEDLAB_HUB_CONCURRENT", str(len(users) + 5)))
# --- the idle culler -------------------------------------------------------------------------------------
cull_timeout = int(os.environ.get("MEDLAB_CULL_TIMEOUT", "3600"))
c.JupyterHub.services = [{
    "name": "idle-culler",
    "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={cull_timeout}",
                "--cull-every=300", "--concurrency=5"],
}]
c.JupyterHub.load_roles = [{
    "name": "idle-culler",
    "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
    "services": ["idle-culler"],
}]

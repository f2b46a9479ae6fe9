"""MongoDB wire-protocol server: mongo-java-server (in-memory) + our own tiny launcher."""

from __future__ import annotations

import uuid
from pathlib import Path

from app.devstack import maven
from app.devstack.base import Service
from app.devstack.config import HOST, port
from app.devstack.system import java
from app.devstack.versions import HEAPS, PINS

READY_LINE = "mongo-java-server listening on"

# Run by Java's single-file source launcher (no compile step). A custom MongoVersion
# is needed because the library's newest built-in one reports maxWireVersion 8,
# which current PyMongo refuses ("requires at least 9 (MongoDB 4.4)").
LAUNCHER = """\
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import java.util.ArrayList;
import java.util.List;

public class MongoLauncher {
    public static void main(String[] args) throws Exception {
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        int wire = Integer.parseInt(args[2]);
        List<Integer> numbers = new ArrayList<>();
        for (String part : args[3].split("\\\\.")) {
            numbers.add(Integer.parseInt(part));
        }
        MongoVersion version = new MongoVersion() {
            @Override public List<Integer> getVersionArray() { return numbers; }
            @Override public int getWireVersion() { return wire; }
        };
        MongoServer server = new MongoServer(new MemoryBackend().version(version));
        server.bind(host, port);
        System.out.println("mongo-java-server listening on " + host + ":" + port);
        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow));
        Thread.currentThread().join();
    }
}
"""


def uri() -> str:
    return f"mongodb://{HOST}:{port('mongo')}"


def ping_insert_find(mongo_uri: str | None = None, timeout_ms: int = 3000) -> str:
    """``ping``, then insert one document and find it again (pymongo)."""
    import pymongo

    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
        mongo_uri or uri(), serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms
    )
    try:
        client.admin.command("ping")
        coll = client["devstack_check"]["roundtrip"]
        marker = uuid.uuid4().hex
        inserted = coll.insert_one({"marker": marker})
        found = coll.find_one({"_id": inserted.inserted_id})
        coll.delete_one({"_id": inserted.inserted_id})
        if not found or found.get("marker") != marker:
            raise RuntimeError(f"inserted document not found back: {found!r}")
        return f"ping + insert/find ok (server {client.server_info().get('version')})"
    finally:
        client.close()


class Mongo(Service):
    name = "mongo"
    port_keys = ("mongo",)

    @property
    def libs(self) -> Path:
        return self.layout.dist / f"mongo-java-server-{PINS.mongo_java_server}" / "libs"

    @property
    def launcher(self) -> Path:
        return self.run_dir / "MongoLauncher.java"

    def endpoint(self) -> str:
        return uri()

    def prepare(self) -> None:
        if not self.libs.is_dir():
            deps = [
                maven.Artifact("de.bwaldvogel", "mongo-java-server", PINS.mongo_java_server),
                maven.Artifact("org.slf4j", "slf4j-simple", PINS.slf4j_simple),
            ]
            maven.copy_dependencies(self.layout, self.name, deps, self.libs)
        self.launcher.write_text(LAUNCHER)

    def command(self) -> list[str]:
        heap = HEAPS.mongo
        return [
            java(),
            f"-Xms{heap}",
            f"-Xmx{heap}",
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
            "-cp",
            f"{self.libs}/*",
            str(self.launcher),
            HOST,
            str(self.port),
            str(PINS.mongo_wire_version),
            PINS.mongo_reported_version,
        ]

    def started(self) -> bool:
        return self.log_contains(READY_LINE)

    def check(self) -> str:
        return ping_insert_find()

package dev.mlmon.engine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;

/**
 * A single OpenSearch node in this JVM, its module plugins given as classpath plugins.
 *
 * <p>Usage: {@code Engine <home> <http-port>}. Data and logs live under {@code home}; the node
 * binds 127.0.0.1 only. It runs until the process is signalled and closes the node on the way out.
 */
public final class Engine {

    /** The module plugins the product needs; a missing class is a build error, not a skip. */
    private static final List<String> PLUGINS = List.of(
            "org.opensearch.transport.Netty4Plugin", // HTTP
            "org.opensearch.analysis.common.CommonAnalysisPlugin",
            "org.opensearch.painless.PainlessPlugin",
            "org.opensearch.index.mapper.MapperExtrasPlugin",
            "org.opensearch.search.aggregations.matrix.MatrixAggregationPlugin");

    /** Node's constructor that takes classpath plugins is protected. */
    private static final class EmbeddedNode extends Node {
        EmbeddedNode(Environment environment, Collection<Class<? extends Plugin>> plugins) {
            super(environment, plugins, true);
        }
    }

    private Engine() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: Engine <home> <http-port>");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        Files.createDirectories(home.resolve("config"));
        Settings settings = Settings.builder()
                .put("path.home", home.toString())
                .put("path.data", home.resolve("data").toString())
                .put("path.logs", home.resolve("logs").toString())
                .put("cluster.name", "mlmon-engine")
                .put("node.name", "mlmon-engine")
                .put("discovery.type", "single-node")
                .put("network.host", "127.0.0.1")
                .put("http.port", args[1])
                .put("transport.port", "9300-9399")
                // A test machine's disk may be fuller than production's watermarks allow.
                .put("cluster.routing.allocation.disk.threshold_enabled", false)
                .build();
        LogConfigurator.configureWithoutConfig(settings);
        Environment environment =
                InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), home.resolve("config"), () -> "mlmon-engine");
        Node node = new EmbeddedNode(environment, pluginClasses());
        // The node's threads are daemons: main waits here until a signal closes the node.
        CountDownLatch closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
            } catch (Exception e) {
                System.err.println("engine: error while closing: " + e);
            } finally {
                closed.countDown();
            }
        }, "engine-shutdown"));
        node.start();
        System.out.println("engine: started on http://127.0.0.1:" + args[1]);
        closed.await();
    }

    private static Collection<Class<? extends Plugin>> pluginClasses() throws ClassNotFoundException {
        List<Class<? extends Plugin>> classes = new ArrayList<>();
        for (String name : PLUGINS) {
            classes.add(Class.forName(name).asSubclass(Plugin.class));
        }
        return classes;
    }
}

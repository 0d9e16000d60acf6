package com.adaptris.core.management;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/**
 * Test stand-in for Interlok's main class.  It does just enough for the
 * launcher's end-to-end tests:
 *
 *   SimpleBootstrap started with <args joined by a space>
 *   SimpleBootstrap pid <pid>
 *   SimpleBootstrap marker <value>            (if -Dstandin.marker is set)
 *   SimpleBootstrap profiler factory <class>  (if adp-profiler.properties is on the classpath)
 *   SimpleBootstrap booting <first argument, or "bootstrap.properties">
 *   SimpleBootstrap health on <port>          (if -Dstandin.http.port is set)
 *   SimpleBootstrap cache ...                 (if -Dstandin.cache.writes is set: StandinCache)
 *   SimpleBootstrap sleeping <ms> ms          (if -Dstandin.sleep.ms is set)
 *   SimpleBootstrap exiting
 *   SimpleBootstrap shutting down             (shutdown hook: also on SIGTERM)
 *
 * boot(String) is the join point the profiler test aspect advises: a line
 * "PROFILER-ASPECT: woven before boot" before "SimpleBootstrap booting" proves
 * the -javaagent and the AOP configuration were loaded.  With
 * -Dstandin.sleep.ms it stays alive that long, as a long-running broker would
 * (SIGTERM ends it with the JVM's usual exit status 143).
 *
 * With -Dstandin.http.port it answers GET /workflow-health-check on
 * 127.0.0.1 (or -Dstandin.http.host) as Interlok's health-check management
 * component does (managementComponents=jetty:jmx:health-check): 200 and the
 * adapter's state in JSON, from a JVM thread, so a frozen JVM does not
 * answer.
 */
public class SimpleBootstrap {

  private static final String PROFILER_PROPERTIES = "adp-profiler.properties";
  private static final String FACTORY_KEY = "com.adaptris.profiler.plugin.factory";

  public static void main(String[] args) throws Exception {
    long sleepMs = sleepMillis();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      System.out.println("SimpleBootstrap shutting down");
      System.out.flush();
    }));
    System.out.println("SimpleBootstrap started with " + String.join(" ", args));
    System.out.println("SimpleBootstrap pid " + ProcessHandle.current().pid());
    String marker = System.getProperty("standin.marker");
    if (marker != null) {
      System.out.println("SimpleBootstrap marker " + marker);
    }
    String factory = profilerFactory();
    if (factory != null) {
      System.out.println("SimpleBootstrap profiler factory " + factory);
    }
    System.out.flush();

    new SimpleBootstrap().boot(args.length > 0 ? args[0] : "bootstrap.properties");
    healthEndpoint();
    cache();

    if (sleepMs > 0) {
      System.out.println("SimpleBootstrap sleeping " + sleepMs + " ms");
      System.out.flush();
      Thread.sleep(sleepMs);
    }
    System.out.println("SimpleBootstrap exiting");
    System.out.flush();
    System.exit(0);
  }

  /** -Dstandin.sleep.ms, 0 if unset; exits 2 if it is not a non-negative number. */
  private static long sleepMillis() {
    String sleep = System.getProperty("standin.sleep.ms");
    if (sleep == null || sleep.trim().isEmpty()) {
      return 0;
    }
    try {
      long ms = Long.parseLong(sleep.trim());
      if (ms >= 0) {
        return ms;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    System.err.println("SimpleBootstrap: standin.sleep.ms is not a non-negative number: " + sleep);
    System.exit(2);
    return 0;
  }

  /** Interlok's /workflow-health-check, when -Dstandin.http.port is set. */
  private static void healthEndpoint() throws IOException {
    String port = System.getProperty("standin.http.port");
    if (port == null || port.trim().isEmpty()) {
      return;
    }
    String host = System.getProperty("standin.http.host", "127.0.0.1");
    com.sun.net.httpserver.HttpServer server = com.sun.net.httpserver.HttpServer.create(
        new java.net.InetSocketAddress(host, Integer.parseInt(port.trim())), 16);
    server.createContext("/workflow-health-check", exchange -> {
      byte[] body = ("{\"adapters\":[{\"adapter-state\":{\"id\":\"standin\",\"state\":\"StartedState\"}}]}\n")
          .getBytes(java.nio.charset.StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("Content-Type", "application/json");
      exchange.sendResponseHeaders(200, body.length);
      try (java.io.OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    server.start();
    System.out.println("SimpleBootstrap health on " + host + ":" + port.trim());
    System.out.flush();
  }

  /**
   * With -Dstandin.cache.writes=N and FAILOVER_CACHE from the launcher:
   * StandinCache reads the previous master's state and writes N more values
   * (-Dstandin.cache.interval.ms apart, default 20).  Reached by name: the
   * tree is built without it when spymemcached is not installed.
   */
  private static void cache() {
    String writes = System.getProperty("standin.cache.writes");
    if (writes == null || writes.trim().isEmpty()) {
      return;
    }
    String address = System.getenv("FAILOVER_CACHE");
    if (address == null || address.isEmpty()) {
      System.out.println("SimpleBootstrap cache: no FAILOVER_CACHE in the environment");
      System.out.flush();
      return;
    }
    try {
      Class.forName("com.adaptris.core.management.StandinCache")
          .getMethod("run", String.class, int.class, long.class, String.class)
          .invoke(null, address, Integer.parseInt(writes.trim()),
              Long.parseLong(System.getProperty("standin.cache.interval.ms", "20").trim()),
              System.getProperty("standin.cache.acked"));
    } catch (ClassNotFoundException e) {
      System.out.println("SimpleBootstrap cache: built without spymemcached");
    } catch (java.lang.reflect.InvocationTargetException e) {
      System.out.println("SimpleBootstrap cache error: " + e.getCause());
    } catch (ReflectiveOperationException | RuntimeException e) {
      System.out.println("SimpleBootstrap cache error: " + e);
    }
    System.out.flush();
  }

  /** The join point advised by com.adaptris.profiler.MarkerAspect. */
  public void boot(String bootstrap) {
    System.out.println("SimpleBootstrap booting " + bootstrap);
    System.out.flush();
  }

  /** The plugin factory named by adp-profiler.properties on the classpath, or null. */
  private static String profilerFactory() {
    ClassLoader cl = SimpleBootstrap.class.getClassLoader();
    try (InputStream in = cl.getResourceAsStream(PROFILER_PROPERTIES)) {
      if (in == null) {
        return null;
      }
      Properties p = new Properties();
      p.load(in);
      return p.getProperty(FACTORY_KEY);
    } catch (IOException e) {
      return null;
    }
  }
}

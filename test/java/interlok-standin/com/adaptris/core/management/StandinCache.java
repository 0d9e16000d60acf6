package com.adaptris.core.management;

import java.io.FileOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import net.spy.memcached.MemcachedClient;

/**
 * The broker's side of the launcher's replicated cache, through a real Java
 * memcached client (spymemcached, text protocol: its default connection
 * factory), at the address the launcher hands the JVM in FAILOVER_CACHE.
 *
 * At start it reads the state a previous master left under "standin-state"
 * and logs it:
 *
 *   SimpleBootstrap cache read standin-state=<value, or none>
 *
 * then counts on from there: each new value is set() and waited on, so it
 * counts only once the launcher answered STORED (in sync mode: once every
 * live peer holds it).  Each acknowledged value is appended to the file
 * named by -Dstandin.cache.acked, one write(2) per value, so it survives a
 * SIGKILL of this JVM that the launcher's log pipe may not.  At the end:
 *
 *   SimpleBootstrap cache last acknowledged standin-state=<value>
 *
 * Compiled only when spymemcached.jar is there (build-interlok-tree.sh);
 * SimpleBootstrap reaches it by name, so the tree works without it.
 */
public final class StandinCache {

  static final String KEY = "standin-state";

  private StandinCache() {
  }

  public static void run(String address, int writes, long intervalMs, String ackedFile) throws Exception {
    int colon = address.lastIndexOf(':');
    if (colon <= 0) {
      throw new IllegalArgumentException("FAILOVER_CACHE is not host:port: " + address);
    }
    InetSocketAddress addr = new InetSocketAddress(address.substring(0, colon),
        Integer.parseInt(address.substring(colon + 1)));
    MemcachedClient mc = new MemcachedClient(addr);
    try (FileOutputStream acked = ackedFile == null ? null : new FileOutputStream(ackedFile, true)) {
      Object found = mc.get(KEY);
      say("SimpleBootstrap cache read " + KEY + "=" + (found == null ? "none" : found));
      long value = found == null ? 0 : Long.parseLong(found.toString().trim());
      for (int i = 0; i < writes; i++) {
        long next = value + 1;
        if (stored(mc, next)) {
          value = next;
          if (acked != null) {
            acked.write((next + "\n").getBytes(StandardCharsets.US_ASCII));
          }
        }
        Thread.sleep(intervalMs);
      }
      say("SimpleBootstrap cache last acknowledged " + KEY + "=" + value);
    } finally {
      mc.shutdown(2, TimeUnit.SECONDS);
    }
  }

  /** set() and wait: true only for STORED; a SERVER_ERROR or a timeout is logged. */
  private static boolean stored(MemcachedClient mc, long value) {
    try {
      return Boolean.TRUE.equals(mc.set(KEY, 0, Long.toString(value)).get(5, TimeUnit.SECONDS));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } catch (Exception e) {
      say("SimpleBootstrap cache write " + value + " not acknowledged: " + e);
      return false;
    }
  }

  private static void say(String line) {
    System.out.println(line);
    System.out.flush();
  }
}

/*
 * The warm standby's JVM ([broker] warm_standby): started by a slave's
 * launcher with the broker's own command, but with this class as the main
 * class and the broker's main class as the first argument.  It loads the
 * classes the broker loaded at its last start (the list the JVM wrote with
 * -XX:DumpLoadedClassList), optionally runs their static initializers, and
 * then waits on standard input.  It starts nothing, binds nothing and opens
 * no file of the broker's: only a line "go TERM" from the launcher, written
 * once it is master and its fence holds this process, makes it call the
 * broker's main method, in this JVM, with the broker's arguments.
 *
 * Standard input at its end (the launcher is gone), or any other line: the
 * JVM halts at once, without running anything else.  While it waits, the
 * process is named "warm-standby" (its command also carries
 * -Dfailover.warm=standby), so that no one counts it as a broker; "go"
 * gives it its own name back (and failover.warm=broker).
 *
 * System properties read: failover.warm.classes (the class list; absent:
 * none), failover.warm.init (true: run the static initializers too).  Set
 * on "go": failover.role=master and failover.term=TERM (the environment
 * was fixed when this JVM started, before any term: it says
 * FAILOVER_ROLE=standby).
 *
 * Classes are loaded first, all of them, without initializing any (a class
 * not found is a class the broker made itself, or a stale list); then,
 * with failover.warm.init, initialized in the list's order.
 *
 * Exit status while waiting: 0 when told to go away, 3 when a class of the
 * list failed to initialize (whatever it threw: that class would stay
 * broken in this JVM, so the launcher then keeps its standbys to loading
 * only), 4 when the main class has no public static main method, 5 when
 * loading failed otherwise (out of memory).
 */
package failover.launcher;

import java.io.BufferedReader;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

public final class WarmStandby {
	private WarmStandby() {
	}

	/* The process's name (the thread group leader's), best effort: Linux
	 * only, and only a marker. */
	private static String comm() {
		try {
			return new String(Files.readAllBytes(Paths.get("/proc/self/comm")), StandardCharsets.US_ASCII).trim();
		} catch (IOException | SecurityException e) {
			return "java";
		}
	}

	private static void name(String comm) {
		try (FileOutputStream f = new FileOutputStream("/proc/self/comm")) {
			f.write(comm.getBytes(StandardCharsets.US_ASCII));
		} catch (IOException | SecurityException e) {
			// not Linux, or no /proc: the -D marker remains
		}
	}

	private static void say(String line) {
		System.out.println("failover-warm: " + line);
		System.out.flush();
	}

	public static void main(String[] args) throws Throwable {
		if (args.length < 1) {
			System.err.println("failover-warm: usage: WarmStandby MAIN_CLASS [ARGUMENT]...");
			Runtime.getRuntime().halt(4);
		}
		String own = comm();
		name("warm-standby");
		long t0 = System.nanoTime();
		ClassLoader loader = ClassLoader.getSystemClassLoader();
		boolean init = Boolean.getBoolean("failover.warm.init");
		String list = System.getProperty("failover.warm.classes", "");
		List<Class<?>> loaded = new ArrayList<>();
		int missing = 0;
		if (!list.isEmpty()) {
			List<String> lines;
			try {
				lines = Files.readAllLines(Paths.get(list), StandardCharsets.UTF_8);
			} catch (IOException e) {
				say("cannot read the class list " + list + ": " + e);
				lines = List.of();
			}
			try {
				for (String line : lines) {
					int sp = line.indexOf(' ');
					String name = (sp < 0 ? line : line.substring(0, sp)).trim();
					/* "@lambda-proxy ...", "@lambda-form-invoker ...": not classes */
					if (name.isEmpty() || name.startsWith("#") || name.startsWith("@"))
						continue;
					try {
						loaded.add(Class.forName(name.replace('/', '.'), false, loader));
					} catch (ClassNotFoundException | LinkageError e) {
						missing++; /* made by the broker itself, a stale list, a missing dependency */
					}
				}
			} catch (Throwable t) {
				say("loading the classes failed: " + t);
				Runtime.getRuntime().halt(5);
			}
			if (init) {
				for (Class<?> c : loaded) {
					try {
						Class.forName(c.getName(), true, c.getClassLoader());
					} catch (Throwable t) {
						/* whatever it threw, the class stays unusable in this
						 * JVM: this JVM must not become the broker */
						say("class " + c.getName() + " failed to initialize: " + t);
						Runtime.getRuntime().halt(3);
					}
				}
			}
		}
		Method main;
		try {
			main = Class.forName(args[0], false, loader).getMethod("main", String[].class);
			if (!Modifier.isStatic(main.getModifiers()))
				throw new NoSuchMethodException("main is not static");
		} catch (ClassNotFoundException | NoSuchMethodException | LinkageError e) {
			say("no main method in " + args[0] + ": " + e);
			Runtime.getRuntime().halt(4);
			return;
		}
		say(String.format("ready: %d classes %s, %d not found, in %d ms", loaded.size(), init ? "initialized" : "loaded",
				  missing, (System.nanoTime() - t0) / 1000000));
		BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
		String line = in.readLine();
		if (line == null || !line.startsWith("go ")) {
			/* the launcher is gone or let this standby go: nothing runs */
			Runtime.getRuntime().halt(0);
		}
		String term = line.substring(3).trim();
		System.setProperty("failover.role", "master");
		System.setProperty("failover.term", term);
		System.setProperty("failover.warm", "broker");
		name(own);
		say("go: term " + term);
		try {
			main.invoke(null, (Object) Arrays.copyOfRange(args, 1, args.length));
		} catch (InvocationTargetException e) {
			throw e.getCause();
		}
	}
}

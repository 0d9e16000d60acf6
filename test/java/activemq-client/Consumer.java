/*
 * Consumer BROKER_URL QUEUE COUNT TIMEOUT_S
 *
 * Receives from QUEUE until it has seen every id 1..COUNT (the int property
 * "id" set by Producer, else the message text) or TIMEOUT_S seconds have
 * passed since it started (connecting included: with a failover: URL the
 * connect itself waits for a broker).  Each received id is printed, one per
 * line, on stdout, duplicates included.  On stderr: transport
 * interrupted/resumed and a final line
 *
 *   consumer: received R, distinct D of COUNT, missing M, duplicates U, unexpected X
 *
 * followed by the missing ids (at most 50) when there are any.  Duplicates
 * (redeliveries after a failover) are reported but are not a failure.
 * Exit 0 only when every id 1..COUNT was received, 1 otherwise, 2 on usage.
 */
import java.util.BitSet;

import javax.jms.Connection;
import javax.jms.JMSException;
import javax.jms.Message;
import javax.jms.MessageConsumer;
import javax.jms.Session;
import javax.jms.TextMessage;

import org.apache.activemq.ActiveMQConnection;
import org.apache.activemq.ActiveMQConnectionFactory;
import org.apache.activemq.transport.TransportListener;

public final class Consumer {
    private static int count;
    private static final Object lock = new Object();
    private static final BitSet seen = new BitSet();
    private static int received, duplicates, unexpected;
    private static volatile boolean reported;

    static void err(String s) {
        System.err.println(String.format("%tT.%<tL consumer: %s", System.currentTimeMillis(), s));
        System.err.flush();
    }

    static void usage() {
        System.err.println("usage: Consumer BROKER_URL QUEUE COUNT TIMEOUT_S");
        System.exit(2);
    }

    /* Prints the summary once; returns the exit code. */
    static int report() {
        synchronized (lock) {
            int distinct = seen.cardinality();
            int missing = count - distinct;
            if (!reported) {
                reported = true;
                err("received " + received + ", distinct " + distinct + " of " + count + ", missing "
                        + missing + ", duplicates " + duplicates + ", unexpected " + unexpected);
                if (missing > 0) {
                    StringBuilder sb = new StringBuilder("missing ids:");
                    int shown = 0;
                    for (int id = 1; id <= count && shown < 50; id++) {
                        if (!seen.get(id)) {
                            sb.append(' ').append(id);
                            shown++;
                        }
                    }
                    if (missing > shown) sb.append(" ...");
                    err(sb.toString());
                }
            }
            return missing == 0 ? 0 : 1;
        }
    }

    static int idOf(Message m) throws JMSException {
        if (m.propertyExists("id")) return m.getIntProperty("id");
        if (m instanceof TextMessage) {
            try {
                return Integer.parseInt(((TextMessage) m).getText().trim());
            } catch (NumberFormatException e) {
                return -1;
            }
        }
        return -1;
    }

    public static void main(String[] args) {
        if (args.length != 4) usage();
        final String url = args[0], queueName = args[1];
        final long timeoutS;
        try {
            count = Integer.parseInt(args[2]);
            timeoutS = Long.parseLong(args[3]);
        } catch (NumberFormatException e) {
            usage();
            return;
        }
        if (count < 1 || timeoutS < 1) usage();
        final long deadline = System.currentTimeMillis() + timeoutS * 1000;

        /* Connecting through failover: blocks until a broker answers; the
         * watchdog makes the timeout cover that too. */
        Thread watchdog = new Thread(() -> {
            try {
                Thread.sleep(timeoutS * 1000 + 500);
            } catch (InterruptedException e) {
                return;
            }
            err("timeout after " + timeoutS + " s");
            Runtime.getRuntime().halt(report());
        }, "watchdog");
        watchdog.setDaemon(true);
        watchdog.start();

        Connection conn = null;
        try {
            ActiveMQConnectionFactory cf = new ActiveMQConnectionFactory(url);
            conn = cf.createConnection();
            ((ActiveMQConnection) conn).addTransportListener(new TransportListener() {
                public void onCommand(Object command) { }
                public void onException(java.io.IOException e) { err("transport error: " + e); }
                /* sic: ActiveMQ's TransportListener spells it "Interupted" */
                public void transportInterupted() { err("transport interrupted"); }
                public void transportResumed() { err("transport resumed"); }
            });
            conn.start();
            Session session = conn.createSession(false, Session.AUTO_ACKNOWLEDGE);
            MessageConsumer consumer = session.createConsumer(session.createQueue(queueName));
            while (true) {
                synchronized (lock) {
                    if (seen.cardinality() == count) break;
                }
                long left = deadline - System.currentTimeMillis();
                if (left <= 0) {
                    err("timeout after " + timeoutS + " s");
                    break;
                }
                Message m = consumer.receive(left);
                if (m == null) continue;
                int id = idOf(m);
                synchronized (lock) {
                    received++;
                    if (id < 1 || id > count) {
                        unexpected++;
                    } else if (seen.get(id)) {
                        duplicates++;
                    } else {
                        seen.set(id);
                    }
                }
                System.out.println(id);
                System.out.flush();
            }
            int rc = report();
            conn.close();
            System.exit(rc);
        } catch (JMSException | RuntimeException e) {
            err("error: " + e);
            System.exit(report() == 0 ? 0 : 1);
        }
    }
}

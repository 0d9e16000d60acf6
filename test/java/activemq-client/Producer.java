/*
 * Producer BROKER_URL QUEUE COUNT [INTERVAL_MS [TIMEOUT_S]]
 *
 * Sends COUNT persistent TextMessages with ids 1..COUNT to QUEUE, one every
 * INTERVAL_MS milliseconds (default 0).  Each message carries the id as its
 * text and as the int property "id".  A persistent send outside a transaction
 * is synchronous (alwaysSyncSend is set as well): send() returns only after
 * the broker has stored and acknowledged the message, and only then is the id
 * printed, one per line, on stdout.  With a failover: URL a send that meets a
 * broker failure blocks until the transport has reconnected and is replayed.
 *
 * Everything else (transport interrupted/resumed, the summary, errors) goes to
 * stderr, with the first send acknowledged after each interruption as
 *
 *   producer: first acknowledged after the interruption: ID at EPOCH_MS
 *
 * Exit 0 when all COUNT were acknowledged, 1 on an error or when TIMEOUT_S
 * seconds (default 120) pass first, 2 on bad usage.
 */
import javax.jms.Connection;
import javax.jms.DeliveryMode;
import javax.jms.JMSException;
import javax.jms.MessageProducer;
import javax.jms.Queue;
import javax.jms.Session;
import javax.jms.TextMessage;

import org.apache.activemq.ActiveMQConnection;
import org.apache.activemq.ActiveMQConnectionFactory;
import org.apache.activemq.transport.TransportListener;

public final class Producer {
    private static volatile int acked = 0;
    /* set when the transport fails, cleared by the next acknowledged send */
    private static volatile boolean interrupted = false;

    static void err(String s) {
        System.err.println(String.format("%tT.%<tL producer: %s", System.currentTimeMillis(), s));
        System.err.flush();
    }

    static void usage() {
        System.err.println("usage: Producer BROKER_URL QUEUE COUNT [INTERVAL_MS [TIMEOUT_S]]");
        System.exit(2);
    }

    public static void main(String[] args) {
        if (args.length < 3 || args.length > 5) usage();
        final String url = args[0], queueName = args[1];
        final int count;
        final long interval, timeoutS;
        try {
            count = Integer.parseInt(args[2]);
            interval = args.length > 3 ? Long.parseLong(args[3]) : 0;
            timeoutS = args.length > 4 ? Long.parseLong(args[4]) : 120;
        } catch (NumberFormatException e) {
            usage();
            return;
        }
        if (count < 1 || interval < 0 || timeoutS < 1) usage();

        Thread watchdog = new Thread(() -> {
            try {
                Thread.sleep(timeoutS * 1000);
            } catch (InterruptedException e) {
                return;
            }
            err("timeout after " + timeoutS + " s: " + acked + " of " + count + " acknowledged");
            Runtime.getRuntime().halt(1);
        }, "watchdog");
        watchdog.setDaemon(true);
        watchdog.start();

        Connection conn = null;
        try {
            ActiveMQConnectionFactory cf = new ActiveMQConnectionFactory(url);
            cf.setAlwaysSyncSend(true);
            cf.setUseAsyncSend(false);
            conn = cf.createConnection();
            ((ActiveMQConnection) conn).addTransportListener(new TransportListener() {
                public void onCommand(Object command) { }
                public void onException(java.io.IOException e) { err("transport error: " + e); }
                /* sic: ActiveMQ's TransportListener spells it "Interupted" */
                public void transportInterupted() {
                    interrupted = true;
                    err("transport interrupted");
                }
                public void transportResumed() { err("transport resumed"); }
            });
            conn.start();
            Session session = conn.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Queue queue = session.createQueue(queueName);
            MessageProducer producer = session.createProducer(queue);
            producer.setDeliveryMode(DeliveryMode.PERSISTENT);
            for (int id = 1; id <= count; id++) {
                TextMessage m = session.createTextMessage(Integer.toString(id));
                m.setIntProperty("id", id);
                producer.send(m);
                acked = id;
                if (interrupted) {
                    /* the epoch ms, for a test to measure a takeover as a
                     * client sees it (kill -> first acknowledged send) */
                    interrupted = false;
                    err("first acknowledged after the interruption: " + id + " at " + System.currentTimeMillis());
                }
                System.out.println(id);
                System.out.flush();
                if (interval > 0 && id < count) Thread.sleep(interval);
            }
            err("sent " + count + " of " + count);
            conn.close();
            System.exit(0);
        } catch (JMSException | InterruptedException | RuntimeException e) {
            err("error after " + acked + " of " + count + " acknowledged: " + e);
            System.exit(1);
        }
    }
}

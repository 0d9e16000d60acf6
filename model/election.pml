/*
 * Promela model of the master election in launcher/cluster/election.c: three nodes,
 * driven the way the daemon drives it (cluster/heartbeat.c and
 * core/mastership.c), on a network that loses
 * packets and partitions, with nodes that freeze (their packets waiting in
 * their sockets), crash and start again with what they persisted, and
 * masters that resign.  model/README.md says
 * what is modelled, what is abstracted away, how to run it and the results.
 *
 * Time is discrete.  One model tick is delay/2 with the default D = 2 ticks
 * per heartbeat interval, and the timeout is R x D ticks.  Each tick is a
 * round: every running node calls election_tick() once, sends its periodic
 * heartbeat when due, and every packet sent in the round arrives (or is
 * lost) within the round; each node's tick and heartbeat fall before or
 * after the round's packets (see "the round" below).  The clock advances
 * when the network is quiet (latency below one tick); faults happen between
 * rounds.
 *
 * The C code keeps absolute times in ms.  The model keeps, per node, the
 * age of each "last heard" stamp and the time left to each deadline,
 * saturated where the code only compares them with a bound, and resets what
 * the code will not read again to one value, to keep the state space small.
 *
 * Switches: spin -DNAME[=value] -a election.pml
 *   D, R          ticks per heartbeat interval (even), retries  [2, 2]
 *   QUORUM        expected_nodes = 3 (default 0: no quorum)
 *   LOSSES        packets the network may drop, any packet, any time  [1]
 *   PARTS         times a node may be cut off from the others  [1]
 *   FREEZES       times a node may freeze (SIGSTOP, VM pause)  [1]
 *   MAXFZ         a pause lasts at most this many ticks (default: any)
 *   RESIGNS       times a master may resign (failoverctl resign)  [1]
 *   RESTARTS      times a node may crash and start again, keeping only what
 *                 it persisted (max_term, its vote)  [0]
 *   INELIGIBLE    times the precheck may flip a node's eligibility (inel[]):
 *                 an ineligible node is the C code's noclaim  [0]
 *   INEL_MIDROUND a flip may also fall between the early and the late step
 *                 of a round (by default only between rounds, as faults)
 *   QFROZEN       packets a frozen node's socket buffer keeps from each
 *                 sender (read on waking; more are lost)  [3]
 *   ONE_PER_TERM  without QUORUM too, assert one promotion per term (with
 *                 QUORUM it is always asserted)
 *   STRICT_TERMS  assert the strong reading of invariant 3 (see README):
 *                 a promotion's term is not below any term the node heard
 *   BUG_NO_WITHDRAW  broken: a candidate ignores a better claim
 *   BUG_NO_DEMOTE    broken: a master never demotes for a better master
 *   BUG_NO_VOTES     broken (with QUORUM): a candidate promotes without a
 *                    majority of votes
 *   BUG_ALL_NAMED    broken: every slave that hears a resign promotes at
 *                    once, not only the named successor
 * The code before commit 719fd51, each of its three fixes undone:
 *   BUG_NO_CONTENDER broken: the named successor promotes at once even when
 *                    it knows another node that claims or is master
 *   BUG_PROMOTE_BELOW broken: a candidate promotes at the end of its window
 *                    (or on a majority) with a term below one it heard
 *   BUG_SKEW_FROM_LOST broken: the rank skew counts from lost_at only
 * The designs of issue 16, each undone:
 *   BUG_TIMER_FIRST  broken: a node waking from a pause runs its overdue
 *                    tick and heartbeat before it reads its socket (libev's order)
 *   BUG_NO_SEND_GAP  broken: a master does not step down when it last sent a
 *                    heartbeat more than timeout - delay ago, and nothing
 *                    kills the broker of a frozen or crashed master (no fence)
 *   BUG_NO_PERSIST   broken: max_term and the vote are lost in a restart, and
 *                    a listening node votes
 *   FAST_ON_WAKE     the design of issue 16 as first given: the named
 *                    successor promotes at once on a resign read from its
 *                    socket on waking (the model's finding: see the README;
 *                    by default it claims with a window then)
 *   TERM_BOUND_IS_ERROR  a claim beyond MAXT is an error, not the end of a run
 * The precheck (eligibility), each rule undone:
 *   BUG_INELIGIBLE_CLAIMS broken: an ineligible node claims (maybe_claim())
 *                    and keeps its claim (election_tick()) as if eligible
 *   BUG_INELIGIBLE_NAMED  broken: an ineligible named successor takes the
 *                    resign's fast path or claims (on_resign(), on_vote())
 */

#define N 3
#ifndef D
#define D 2
#endif
#ifndef R
#define R 2
#endif
#define T (R * D)               /* failure timeout = retries x delay */
#define CW (D / 2)              /* claim_window = clamp(delay/2, 10, 500) ms */
#define SKEW (D / 2)            /* skew_step    = clamp(delay/2, 10, 500) ms */
#define RESEND ((CW + 1) / 2)   /* claim_resend_at = now + claim_window/2: the first tick at or after */
#define PEND (CW + D)           /* pending_claim_until = now + claim_window + delay */
#define SLMAX (N * SKEW)        /* now - lost_at is saturated here: rank k <= N */
#define MSMAX (T + SLMAX)       /* now - master_seen is saturated here */
#ifndef SETTLE
#define SETTLE (2 * D)          /* the settling bound: two intervals */
#endif
#ifndef MAXT
#define MAXT 8                  /* terms stay below this (see the README) */
#endif
#ifndef LOSSES
#define LOSSES 1
#endif
#ifndef PARTS
#define PARTS 1
#endif
#ifndef FREEZES
#define FREEZES 1
#endif
#ifndef RESIGNS
#define RESIGNS 1
#endif
#ifndef RESTARTS
#define RESTARTS 0
#endif
#ifndef INELIGIBLE
#define INELIGIBLE 0
#endif
/* the send gap: a master steps down, and the fence kills its broker, once
 * it last sent a heartbeat more than timeout - delay ago */
#define GAP (T - D)
#define SGMAX (GAP + 1)
#ifndef RESIGN_COPIES
#define RESIGN_COPIES 3         /* heartbeat.c: one now, two more at delay/3 intervals */
#endif
#ifndef QCAP
#define QCAP 8                  /* per sender and receiver; asserted never to fill */
#endif
#ifndef QFROZEN
#define QFROZEN 3               /* with BUFFER: packets a frozen node keeps from each sender */
#endif
#ifdef QUORUM
#define EXPECTED 3
#else
#define EXPECTED 0
#endif

/* states, = wire roles */
#define LISTENING 0
#define SLAVE 1
#define CANDIDATE 2
#define MASTER 3
/* Node ids 0..2 are also the ranks: (position, id) is a strict total order
 * and every assignment of positions is a renaming of this one. */
#define NONE 3
/* packet types */
#define HB 0
#define CLAIM 1
#define RESIGN 2
#define VOTE 3
/* the actions (enum el_action) the model acts on */
#define A_HB 1
#define A_CLAIM 2
#define A_RESIGN 4
#define A_VOTE 8

#define AGE_NONE T              /* master_age: WIRE_AGE_NONE, or not below the timeout */
#define ABSENT (T + 1)          /* peer age T: entry still there but dead; T+1: expired */
#define PI(i, j) ((i) * N + (j))
#define CH(s, d) ((s) * (N - 1) + ((d) < (s) -> (d) : (d) - 1))   /* channel s -> d */
#define PAIR(a, b) ((a) + (b) - 1)   /* (0,1)=0 (0,2)=1 (1,2)=2 */

/* ---- struct election, per node ---- */
byte st[N];        /* state */
byte term[N];      /* our term as master, or our master's; 0 with no master */
byte maxt[N];      /* max_term */
byte mst[N];       /* master: an id or NONE */
byte mseen[N];     /* now - master_seen, saturated at MSMAX */
byte mheard[N];    /* now - master_heard; T: not to relay */
byte slost[N];     /* now - lost_at, saturated at SLMAX */
byte listen[N];    /* listen_until - now */
byte cterm[N];     /* claim_term; 0 unless candidate */
byte claimc[N];    /* claim_until - now */
byte rs[N];        /* claim_resend_at: 0 none, else 1 + (claim_resend_at - now) */
byte pend[N];      /* pending_claim_until - now */
byte spend[N];     /* now - pending_claim_until once it passed, saturated at
                      SLMAX; SLMAX also while pending or when reset to 0 */
byte hold[N];      /* holddown_until - now */
byte fav[N];       /* favored: an id or NONE */
byte favc[N];      /* favored_until - now */
byte qlost[N];     /* quorum_lost_since: 0 unset, else 1 + (now - since) */
#ifdef QUORUM
byte vterm[N];     /* voted_term */
byte voters[N];    /* the votes for claim_term, a bit mask */
#endif
byte htarget[N];   /* handover_target of our resign: an id, or NONE (no live slave) */
/* the caller's noclaim (heartbeat.c's set_claimable() from the precheck,
 * mastership.c): no claim, no promotion as a named successor, no preemption;
 * still votes and sends heartbeats, flagged NOCLAIM.  Only state when the
 * precheck may flip it, so that the other configurations keep their states */
#if INELIGIBLE > 0
bit inel[N];
#define INEL(i) inel[i]
#else
#define INEL(i) 0
#endif
/* may_not_lead(): the caller's noclaim (the model has no settings hold) */
#define may_not_lead(i) INEL(i)
/* the peer table of node i, entry j: age of last_seen (ABSENT: no entry),
 * whether it said it was master, slave or candidate (p->role, from every
 * packet), its NOCLAIM flag: what claim_rank(), best_slave() and
 * contender() read */
byte page[N * N];
bit pmaster[N * N];
bit pslave[N * N];
bit pcand[N * N];
bit pnocl[N * N];

/* ---- the daemon ---- */
byte hbph[N];      /* heartbeat timer, due at 0 */
bit hbsent[N];     /* sent this round */
bit ticked[N];     /* election_tick() called this round */
byte rcop[N];      /* resign copies still to send, one a tick */
byte sgap[N];      /* rounds since the last heartbeat sent as master, saturated
                      at SGMAX; SGMAX when not master */

/* ---- the world ---- */
bit frozen[N];
byte fz[N];        /* ticks frozen, saturated at T */
bit stalled[N];    /* woke from a freeze longer than the timeout: its next
                      election call finds now - last_call > timeout */
bit waking[N];     /* reading its socket and running its timers on waking
                      (only within that step: always 0 between steps) */
bit iso[N];        /* cut off from both others */
bit cut;           /* a term reached MAXT: the run ends after this round */
byte ph;           /* the step of the round (see "the round") */
byte losses = LOSSES;
byte parts = PARTS;
byte freezes = FREEZES;
byte resigns = RESIGNS;
byte restarts = RESTARTS;
#if INELIGIBLE > 0
byte inels = INELIGIBLE;
#endif

/* one FIFO channel per sender and receiver:
 * type, sender, role, term, target, master_age, NOCLAIM */
chan c[N * (N - 1)] = [QCAP] of { byte, byte, byte, byte, byte, byte, byte };

/* ---- ghosts for the properties ---- */
byte conn[3];      /* whole ticks the pair has been connected and undisturbed, saturated */
bit wasm[N];       /* its broker ran at some moment of this round */
#if defined(QUORUM) || defined(ONE_PER_TERM)
#define PER_TERM
unsigned promoted : 16 = 0;   /* the terms anyone was promoted in, across restarts */
#endif
#ifdef QUORUM
byte isot[N];      /* ticks cut off (and running), saturated at 2T */
#endif

/* temporaries, written before they are read within each atomic step, so
 * not part of the state */
hidden short tnow;   /* the tick, for printed traces only */
hidden byte act, k, j, x, nw, mn, ty, nd, sd, mtype_, msrc, mrole, mterm, mtarget, mage, mnocl, dst, vfor;

/* ---------------------------------------------------------------- */

#define wins(ta, a, tb, b) ((ta) != (tb) -> (ta) > (tb) : (a) < (b))
#define live(i, p) (page[PI(i, p)] < T)
#define master_alive(i) (mst[i] != NONE && mst[i] != i && mseen[i] < T)
#define QUORUM_OF(n) (EXPECTED == 0 || (n) * 2 > EXPECTED)

inline nlive(i) {      /* x = election_live() */
	x = 1;
	j = 0;
	do
	:: j < N -> if :: j != i && live(i, j) -> x++ :: else -> skip fi; j++
	:: else -> break
	od
}

inline lose_master_now(i) {   /* lose_master(e, now, ...) */
	mst[i] = NONE;
	slost[i] = 0;
	term[i] = 0
}

inline set_state(i, s) {
	if
	:: st[i] == CANDIDATE && s != CANDIDATE ->
		cterm[i] = 0; claimc[i] = 0; rs[i] = 0
#ifdef QUORUM
		; voters[i] = 0
#endif
	:: else -> skip
	fi;
	if :: st[i] == MASTER && s != MASTER -> qlost[i] = 0 :: else -> skip fi;
	if :: st[i] == LISTENING && s != LISTENING -> listen[i] = 0 :: else -> skip fi;
	st[i] = s
}

/* check_stall(): in the model only a wake-up after a freeze longer than the
 * timeout makes now - last_call exceed it.  Then the send gap (issue 16, path
 * 4b): a master that last sent a heartbeat more than timeout - delay ago
 * steps down before it does anything else (its fence has killed its broker
 * already); in the model only a pause makes that gap */
inline check_stall(i) {
	if
	:: stalled[i] ->
		stalled[i] = 0;
		if
		:: st[i] != LISTENING ->
			printf("MSC: n%d stalled: steps down, listens\n", i);
			set_state(i, LISTENING);
			lose_master_now(i);
			listen[i] = T;
			pend[i] = 0;
			spend[i] = SLMAX
		:: else -> skip
		fi
	:: else -> skip
	fi;
#ifndef BUG_NO_SEND_GAP
	if
	:: st[i] == MASTER && sgap[i] > GAP ->
		printf("MSC: n%d last sent a heartbeat %d ticks ago: steps down\n", i, sgap[i]);
		lose_master_now(i);
		set_state(i, SLAVE)
	:: else -> skip
	fi;
#endif
	skip
}

inline follow(i) {     /* follow(e, m, now): the packet in m* */
	mst[i] = msrc;
	term[i] = mterm;
	mseen[i] = 0;
	mheard[i] = 0;
	fav[i] = NONE;
	favc[i] = 0;
	pend[i] = 0;       /* pending_claim_until = 0 */
	spend[i] = SLMAX;
	slost[i] = 0
}

inline promote(i) {
	/* the precheck: an ineligible node never becomes master, by a claim or
	 * as a resigning master's named successor */
	assert(!INEL(i));
#ifdef STRICT_TERMS
	/* invariant 3 as ELECTION.md words it: the term is above every term
	 * this node has seen other than its own claim's (claim_term was
	 * max_term + 1 at the claim; slaves echo it back as their max_term).
	 * Since 719fd51 election_tick() claims again, and on_vote() does not
	 * promote, when a higher term was heard during the claim window */
	assert(cterm[i] >= maxt[i]);
#endif
#ifdef PER_TERM
	/* invariant 2: one promotion per term, ever, across restarts
	 * (with a quorum: majorities intersect and a node votes once per term,
	 * and persists that vote before it sends it) */
	assert((promoted & (1 << cterm[i])) == 0);
	promoted = promoted | (1 << cterm[i]);
#endif
#ifdef QUORUM
	/* invariant 4: a node cut off for longer than the claim window holds
	 * no vote, so it cannot promote */
	assert(!iso[i] || isot[i] < CW);
#endif
	printf("MSC: n%d promoted, term %d\n", i, cterm[i]);
	term[i] = cterm[i];
	if :: term[i] > maxt[i] -> maxt[i] = term[i] :: else -> skip fi;
	mst[i] = i;
	slost[i] = 0;
	qlost[i] = 0;
	fav[i] = NONE;     /* favored[0] = '\0' */
	favc[i] = 0;
	act = act | A_HB;
	set_state(i, MASTER);
	cterm[i] = 0;      /* (not read while master) */
	wasm[i] = 1
}

/* the term bound, where a claim takes max_term + 1: by default the run stops
 * here (see the README); -DTERM_BOUND_IS_ERROR makes it an error, to find
 * such runs */
inline term_bound(i) {
#ifdef TERM_BOUND_IS_ERROR
	assert(maxt[i] + 1 < MAXT)
#else
	if :: maxt[i] + 1 >= MAXT -> cut = 1 :: else -> skip fi
#endif
}

/* named_successor(): the resigning master named us, and not too long ago */
#define named_successor(i) (fav[i] == i && favc[i] > 0)

/* votes_enough(): our vote and those received make a majority of
 * EXPECTED = 3, so one received vote is enough */
#ifdef QUORUM
#define votes_enough(i) (voters[i] != 0)
#else
#define votes_enough(i) 1
#endif

inline best_slave(i) {   /* x = best_slave(): the live slave without NOCLAIM that ranks first, or NONE */
	x = NONE;
	j = N;
	do
	:: j > 0 ->
		j--;
		if
		:: j != i && live(i, j) && pslave[PI(i, j)] && !pnocl[PI(i, j)] -> x = j
		:: else -> skip
		fi
	:: else -> break
	od
}

inline claim_rank(i) {   /* k = claim_rank() */
	k = 0;
	j = 0;
	do
	:: j < N ->
		if
		:: j < i && live(i, j) && !pmaster[PI(i, j)] && !pnocl[PI(i, j)] -> k++
		:: else -> skip
		fi;
		j++
	:: else -> break
	od;
	if
	:: fav[i] != NONE && favc[i] > 0 ->
		if
		:: fav[i] == i -> k = 0
		:: fav[i] != i && live(i, fav[i]) -> k++
		:: else -> skip
		fi
	:: else -> skip
	fi
}

/* start_claim(): a claim of a term above any seen, and the claim window */
inline start_claim(i) {
	term_bound(i);
	cterm[i] = maxt[i] + 1;
#ifdef QUORUM
	voters[i] = 0;
	vterm[i] = cterm[i];   /* our own vote */
#endif
	claimc[i] = CW;
	rs[i] = (RESEND < CW -> RESEND + 1 : 0);
	act = act | A_CLAIM
}

/* maybe_claim(): the rank skew counts from max(lost_at,
 * pending_claim_until): now - that = min(slost, spend) */
inline maybe_claim(i) {
	nlive(i);
	if
#ifndef BUG_INELIGIBLE_CLAIMS
	:: may_not_lead(i) || hold[i] > 0 || pend[i] > 0 || !QUORUM_OF(x) -> skip
#else
	:: hold[i] > 0 || pend[i] > 0 || !QUORUM_OF(x) -> skip
#endif
	:: else ->
		claim_rank(i);
		if
#ifndef BUG_SKEW_FROM_LOST
		:: (slost[i] < spend[i] -> slost[i] : spend[i]) < k * SKEW -> skip
#else
		:: slost[i] < k * SKEW -> skip
#endif
		:: else ->
			set_state(i, CANDIDATE);
			start_claim(i);
			printf("MSC: n%d claims term %d\n", i, cterm[i])
		fi
	fi
}

/* contender(e, m->node, now): x = a live peer other than the resigning
 * node msrc that last said it was candidate or master, or NONE */
inline contender(i) {
	x = NONE;
	j = 0;
	do
	:: j < N ->
		if
		:: j != i && j != msrc && live(i, j) && (pmaster[PI(i, j)] || pcand[PI(i, j)]) -> x = j
		:: else -> skip
		fi;
		j++
	:: else -> break
	od
}

/* a candidate heard a term above its claim's (e->max_term > e->claim_term):
 * it must not promote with it (election_tick(), on_vote()) */
#ifndef BUG_PROMOTE_BELOW
#define heard_higher(i) (maxt[i] > cterm[i])
#else
#define heard_higher(i) 0
#endif

/* election_tick(), a candidate at the end of its claim window that heard a
 * higher term meanwhile: start_claim() again above it, no promotion */
inline reclaim(i) {
	printf("MSC: n%d: term %d heard while claiming %d: claims again\n", i, maxt[i], cterm[i]);
	start_claim(i);
	printf("MSC: n%d claims term %d\n", i, cterm[i])
}

/* election_tick(): a candidate keeps its claim while it has quorum and may
 * lead (may_not_lead() withdraws it before the end of the window) */
#ifndef BUG_INELIGIBLE_CLAIMS
#define keeps_claim(i) (QUORUM_OF(x) && !may_not_lead(i))
#else
#define keeps_claim(i) QUORUM_OF(x)
#endif

inline el_tick(i) {    /* election_tick() */
	check_stall(i);
	j = 0;             /* expire_peers() */
	do
	:: j < N -> if :: page[PI(i, j)] == T -> page[PI(i, j)] = ABSENT :: else -> skip fi; j++
	:: else -> break
	od;
	if
	:: st[i] == LISTENING && listen[i] > 0 -> skip
	:: st[i] == LISTENING && listen[i] == 0 && master_alive(i) -> set_state(i, SLAVE)
	:: st[i] == SLAVE || (st[i] == LISTENING && listen[i] == 0 && !master_alive(i)) ->
		if
		:: st[i] == LISTENING -> lose_master_now(i); set_state(i, SLAVE)   /* and fall through */
		:: else -> skip
		fi;
		if
		:: mst[i] != NONE && !master_alive(i) ->
			slost[i] = mseen[i] - T;   /* lost_at = master_seen + timeout */
			mst[i] = NONE;
			term[i] = 0
		:: else -> skip
		fi;
		if
		:: master_alive(i) -> skip   /* (preempt is not modelled) */
		:: else -> maybe_claim(i)
		fi
	:: st[i] == CANDIDATE ->
		nlive(i);
		if
		:: !QUORUM_OF(x) -> set_state(i, SLAVE)
		:: QUORUM_OF(x) && !keeps_claim(i) ->   /* may not lead now: withdrawn */
			printf("MSC: n%d: claim of term %d withdrawn: ineligible\n", i, cterm[i]);
			set_state(i, SLAVE)
#ifdef QUORUM
#ifndef BUG_NO_VOTES
		:: keeps_claim(i) && claimc[i] == 0 && !votes_enough(i) ->
			printf("MSC: n%d: claim of term %d got no vote\n", i, cterm[i]);
			pend[i] = D;
			spend[i] = SLMAX;
			set_state(i, SLAVE)
		:: keeps_claim(i) && claimc[i] == 0 && votes_enough(i) && heard_higher(i) -> reclaim(i)
		:: keeps_claim(i) && claimc[i] == 0 && votes_enough(i) && !heard_higher(i) -> promote(i)
#else
		:: keeps_claim(i) && claimc[i] == 0 && heard_higher(i) -> reclaim(i)
		:: keeps_claim(i) && claimc[i] == 0 && !heard_higher(i) -> promote(i)
#endif
#else
		:: keeps_claim(i) && claimc[i] == 0 && heard_higher(i) -> reclaim(i)
		:: keeps_claim(i) && claimc[i] == 0 && !heard_higher(i) -> promote(i)
#endif
		:: keeps_claim(i) && claimc[i] > 0 && rs[i] == 1 -> rs[i] = 0; act = act | A_CLAIM
		:: keeps_claim(i) && claimc[i] > 0 && rs[i] != 1 -> skip
		fi
	:: st[i] == MASTER ->
		nlive(i);
		if
		:: QUORUM_OF(x) -> qlost[i] = 0
		:: !QUORUM_OF(x) && qlost[i] == 0 -> qlost[i] = 1
		:: !QUORUM_OF(x) && qlost[i] > 0 && qlost[i] - 1 < T -> skip
		:: !QUORUM_OF(x) && qlost[i] > 0 && qlost[i] - 1 >= T ->
			lose_master_now(i);
			set_state(i, SLAVE)
		fi
	fi
}

/* election_on_packet() for the packet in m* */
inline on_packet(i) {
	check_stall(i);
	page[PI(i, msrc)] = 0;
	pmaster[PI(i, msrc)] = (mrole == MASTER);
	pslave[PI(i, msrc)] = (mrole == SLAVE);
	pcand[PI(i, msrc)] = (mrole == CANDIDATE);
	pnocl[PI(i, msrc)] = mnocl;
	if :: mterm > maxt[i] -> maxt[i] = mterm :: else -> skip fi;
	if
	:: mtype_ == HB ->
		/* a slave that heard our master more recently than we did */
		if
		:: mrole == SLAVE && mst[i] != NONE && mtarget == mst[i] && mage < T && mage < mseen[i] &&
		   st[i] != MASTER -> mseen[i] = mage
		:: else -> skip
		fi;
		if
		:: mrole == MASTER ->
			/* on_master_heard() */
			if
			:: st[i] == MASTER ->
#ifndef BUG_NO_DEMOTE
				if
				:: wins(mterm, msrc, term[i], i) ->
					printf("MSC: n%d demotes: master n%d term %d outranks\n", i, msrc, mterm);
					set_state(i, SLAVE); follow(i)
				:: else -> act = act | A_HB   /* make it hear us and step down */
				fi
#else
				/* (and no re-announcing either: two such masters would
				 * answer each other for ever) */
				if
				:: wins(mterm, msrc, term[i], i) -> skip
				:: else -> act = act | A_HB
				fi
#endif
			:: st[i] == CANDIDATE ->
				printf("MSC: n%d withdraws: master n%d term %d\n", i, msrc, mterm);
				set_state(i, SLAVE); follow(i)
			:: st[i] == LISTENING || st[i] == SLAVE ->
				/* cur = find_peer(master): NULL once expired */
				if
				:: !master_alive(i) || mst[i] == msrc || page[PI(i, mst[i])] == ABSENT ||
				   wins(mterm, msrc, term[i], mst[i]) -> follow(i)
				:: else -> skip
				fi;
				if :: st[i] == LISTENING -> set_state(i, SLAVE) :: else -> skip fi
			fi
		:: mrole != MASTER && mst[i] == msrc && st[i] != MASTER ->
			lose_master_now(i)   /* our master says it is not master any more */
		:: else -> skip
		fi
	:: mtype_ == CLAIM ->
		/* on_claim() */
		if
		:: st[i] == MASTER -> act = act | A_HB
		:: st[i] == CANDIDATE ->
#ifndef BUG_NO_WITHDRAW
			if
			:: wins(mterm, msrc, cterm[i], i) ->
				printf("MSC: n%d withdraws: n%d claims term %d\n", i, msrc, mterm);
				set_state(i, SLAVE); pend[i] = PEND; spend[i] = SLMAX
			:: else -> act = act | A_CLAIM
			fi
#else
			if
			:: wins(mterm, msrc, cterm[i], i) -> skip   /* (and no answer: see BUG_NO_DEMOTE) */
			:: else -> act = act | A_CLAIM
			fi
#endif
		:: st[i] == LISTENING || st[i] == SLAVE ->
			if
			:: master_alive(i) -> skip   /* no vote against a live master */
			:: else ->
				pend[i] = PEND;
				spend[i] = SLMAX;
#ifdef QUORUM
				if
#ifndef BUG_NO_PERSIST
				:: st[i] == LISTENING -> skip   /* still listening: never votes */
				:: st[i] != LISTENING && mterm > vterm[i] ->
#else
				:: mterm > vterm[i] ->
#endif
					vterm[i] = mterm; vfor = msrc; act = act | A_VOTE;
					printf("MSC: n%d votes for n%d, term %d\n", i, msrc, mterm)
				:: else -> skip
				fi
#endif
				skip
			fi
		fi
	:: mtype_ == RESIGN ->
		/* on_resign() */
		if
		:: st[i] == MASTER || mst[i] != msrc -> skip   /* copies after the first */
		:: else ->
			lose_master_now(i);
			fav[i] = mtarget;
			favc[i] = (mtarget != NONE -> T : 0);   /* favored_until = now + timeout */
			pend[i] = 0;
			spend[i] = SLMAX;
			nlive(i);
			if
#ifndef BUG_INELIGIBLE_NAMED
			:: st[i] != SLAVE || may_not_lead(i) || hold[i] > 0 || !QUORUM_OF(x) -> skip
#else
			:: st[i] != SLAVE || hold[i] > 0 || !QUORUM_OF(x) -> skip
#endif
			:: else ->
				contender(i);
				if
#ifndef BUG_ALL_NAMED
#ifndef BUG_NO_CONTENDER
#ifndef FAST_ON_WAKE
				:: named_successor(i) && EXPECTED == 0 && x == NONE && !waking[i] ->
#else
				:: named_successor(i) && EXPECTED == 0 && x == NONE ->
#endif
#else
				:: named_successor(i) && EXPECTED == 0 ->   /* broken: contender ignored */
#endif
#else
				:: EXPECTED == 0 && x == NONE ->   /* broken: named or not */
#endif
					/* named, no quorum, and no other live node known to claim
					 * or to be master (contender() == NULL): promote at once,
					 * no claim window */
					printf("MSC: n%d: resign of n%d names n%d: promotes at once\n", i, msrc, mtarget);
					/* the named successor is eligible (best_slave() names
					 * no peer last heard with NOCLAIM, by construction; one
					 * that became ineligible since must not take the name) */
					assert(!INEL(i));
					term_bound(i);
					cterm[i] = maxt[i] + 1;
					promote(i)
				:: else ->
					/* with a quorum the named successor claims (rank 0) and
					 * promotes on a majority (on_vote()); the others wait
					 * their turn; so does the named one without quorum when
					 * a contender is known (maybe_claim(), claim window) */
					if
					:: named_successor(i) && EXPECTED == 0 && waking[i] ->
						printf("MSC: n%d: resign of n%d names n%d, read on waking: claims with a window\n", i, msrc, mtarget)
					:: named_successor(i) && EXPECTED == 0 && !waking[i] ->
						printf("MSC: n%d: resign of n%d names n%d, but n%d claims or is master: claims with a window\n", i, msrc, mtarget, x)
					:: else -> skip
					fi;
					maybe_claim(i)
				fi
			fi
		fi
	:: mtype_ == VOTE ->
		/* on_vote() */
#ifdef QUORUM
		if
		:: st[i] == CANDIDATE && mterm == cterm[i] && mtarget == i ->
			voters[i] = voters[i] | (1 << msrc);
			nlive(i);
			if
#ifndef BUG_INELIGIBLE_NAMED
			:: !may_not_lead(i) && named_successor(i) && votes_enough(i) && QUORUM_OF(x) && !heard_higher(i) ->
#else
			:: named_successor(i) && votes_enough(i) && QUORUM_OF(x) && !heard_higher(i) ->
#endif
				printf("MSC: n%d named, a majority voted: promotes at once\n", i);
				promote(i)
			:: else -> skip
			fi
		:: else -> skip
		fi;
#endif
		skip
	fi
}

/* ---- the network ---- */

/* the packet in m*, from node i to node dst */
inline deliver(i) {
	if
	:: iso[i] || iso[dst] -> skip     /* cut off: never arrives */
	:: else ->
		if
		:: losses > 0 ->
			losses--; conn[PAIR(i, dst)] = 0;
			if
			:: mtype_ == HB -> printf("MSC: heartbeat n%d -> n%d lost\n", i, dst)
			:: mtype_ == CLAIM -> printf("MSC: claim n%d -> n%d lost\n", i, dst)
			:: mtype_ == RESIGN -> printf("MSC: resign n%d -> n%d lost\n", i, dst)
			:: mtype_ == VOTE -> printf("MSC: vote n%d -> n%d lost\n", i, dst)
			fi
		:: true ->
			/* a frozen node's socket keeps what arrives, read on waking;
			 * a full socket buffer drops it: a lost packet */
			if
			:: frozen[dst] && len(c[CH(i, dst)]) >= QFROZEN ->
				conn[PAIR(i, dst)] = 0;
				printf("MSC: n%d's socket buffer is full: a packet of n%d lost\n", dst, i)
			:: else ->
				assert(len(c[CH(i, dst)]) < QCAP);
				c[CH(i, dst)]!mtype_, i, mrole, mterm, mtarget, mage, mnocl
			fi
		fi
	fi
}

/* send_packet(): election_fill() with the state at sending time, to all */
inline send_it(i) {
	mrole = st[i];
	mterm = (st[i] == MASTER -> term[i] : (st[i] == CANDIDATE -> cterm[i] : maxt[i]));
	mtarget = mst[i];
	if
	:: mtype_ == RESIGN -> mtarget = htarget[i]
	:: mtype_ == VOTE ->
		mtarget = vfor;
#ifdef QUORUM
		mterm = vterm[i]
#endif
	:: else -> skip
	fi;
	mage = (mtype_ == HB && mst[i] != NONE && st[i] != MASTER && mheard[i] < T -> mheard[i] : AGE_NONE);
	mnocl = (may_not_lead(i) || hold[i] > 0);   /* may_not_lead() || holddown_until > last_call */
	if :: mtype_ == HB && st[i] == MASTER -> sgap[i] = 0 :: else -> skip fi;   /* and the fence's deadline moves */
	dst = 0;
	do
	:: dst < N -> if :: dst != i -> deliver(i) :: else -> skip fi; dst++
	:: else -> break
	od
}

/* what heartbeat.c and mastership.c do with the returned actions, in their order */
inline do_actions(i) {
	ty = 0;        /* claim, heartbeat, vote, resign, in this order */
	do
	:: ty < 4 ->
		mtype_ = (ty == 0 -> CLAIM : (ty == 1 -> HB : (ty == 2 -> VOTE : RESIGN)));
		if
		:: act & (ty == 0 -> A_CLAIM : (ty == 1 -> A_HB : (ty == 2 -> A_VOTE : A_RESIGN))) -> send_it(i)
		:: else -> skip
		fi;
		ty++
	:: else -> break
	od
}

/* ---- the round ----
 * A round is one tick of real time, in four steps:
 *   0. early: each running node may call election_tick() (tick_cb) and send
 *      its heartbeat (hb_cb, when due: election_fill() only, no stall
 *      check) now, or leave either for step 2;
 *   1. the network delivers everything sent, in waves (below);
 *   2. late: the ticks and heartbeats left from step 0;
 *   3. the network delivers again, then the round ends.
 * So a node's tick can fall before or after the packets of the tick, and
 * two nodes can act on the same old view (simultaneous claims) or one after
 * hearing the other.  Steps of different nodes commute (each touches its
 * own state and appends to its own outgoing channels), so within a step
 * the order across nodes does not matter.  A delivery wave hands every node
 * the packets in its channels when the wave starts (recv_cb reads all that
 * is there), interleaving its two senders in every order; what they make
 * nodes send goes to the next wave, until the network is quiet. */
#define hbdue(i) (hbph[i] == 0 && !hbsent[i])
#define inputs(i) (len(c[CH((i + 1) % N, i)]) + len(c[CH((i + 2) % N, i)]))
#define quiet(i) (frozen[i] || inputs(i) == 0)

hidden byte ws[N * (N - 1)];   /* packets of the current wave left, per channel */
hidden byte dotick, dohb;

inline node_timers() {   /* steps 0 and 2, for node nd */
	if
	:: !frozen[nd] ->
		if
		:: ph == 0 && !ticked[nd] -> if :: dotick = 1 :: dotick = 0 fi
		:: else -> dotick = !ticked[nd]   /* (ticked at waking: done for this round) */
		fi;
		if
		:: ph == 0 && hbdue(nd) -> if :: dohb = 1 :: dohb = 0 fi
		:: else -> dohb = hbdue(nd)
		fi;
		act = 0;
		if
		:: dotick ->
			el_tick(nd);
			/* resign_cb: the next resign copy (any order with the rest) */
			if :: rcop[nd] > 0 -> rcop[nd]--; act = act | A_RESIGN :: else -> skip fi;
			ticked[nd] = 1
		:: else -> skip
		fi;
		if :: dohb -> act = act | A_HB; hbsent[nd] = 1 :: else -> skip fi;
		do_actions(nd)
	:: else -> skip
	fi
}

inline deliver_all() {   /* steps 1 and 3 */
	nw = 0;
	do
	:: quiet(0) && quiet(1) && quiet(2) -> break
	:: else ->
		nw++;
		assert(nw < 16);   /* no endless exchange within a tick */
		j = 0;
		do
		:: j < N * (N - 1) -> ws[j] = len(c[j]); j++
		:: else -> break
		od;
		nd = 0;
		do
		:: nd < N ->
			do
			:: frozen[nd] || (ws[CH((nd + 1) % N, nd)] == 0 && ws[CH((nd + 2) % N, nd)] == 0) -> break
			:: else ->
				if
				:: ws[CH((nd + 1) % N, nd)] > 0 -> sd = (nd + 1) % N
				:: ws[CH((nd + 2) % N, nd)] > 0 -> sd = (nd + 2) % N
				fi;
				ws[CH(sd, nd)]--;
				c[CH(sd, nd)]?mtype_, msrc, mrole, mterm, mtarget, mage, mnocl;
				act = 0;
				on_packet(nd);
				do_actions(nd)
			od;
			nd++
		:: else -> break
		od
	od
}

/* failoverctl resign: election_resign(e, NULL, timeout); the daemon sends
 * the resign once the broker has stopped, so the broker does not run in the
 * round the resign starts */
inline resign_now(i) {
	resigns--;
	act = 0;
	check_stall(i);
	if
	:: st[i] == MASTER ->
		best_slave(i);   /* resign(e, NULL, ...): the target is the best slave */
		/* never one last heard with NOCLAIM (true by construction of
		 * best_slave(); the receiving side asserts the rest, in on_resign()) */
		assert(x == NONE || !pnocl[PI(i, x)]);
		htarget[i] = x;
		hold[i] = T;
		lose_master_now(i);
		set_state(i, SLAVE);
		act = A_RESIGN;
		rcop[i] = RESIGN_COPIES - 1
	:: else -> skip
	fi;
	do_actions(i)
}

inline disturb(i) {   /* a fault at node i: its pairs start settling again */
	if :: i != 2 -> conn[PAIR(0, 1)] = 0 :: else -> skip fi;
	if :: i != 1 -> conn[PAIR(0, 2)] = 0 :: else -> skip fi;
	if :: i != 0 -> conn[PAIR(1, 2)] = 0 :: else -> skip fi
}

/* recv_cb on waking: node i reads what waits in its socket, its two
 * senders interleaved in every order; what it sends goes out in the round */
inline drain(i) {
	ws[CH((i + 1) % N, i)] = len(c[CH((i + 1) % N, i)]);
	ws[CH((i + 2) % N, i)] = len(c[CH((i + 2) % N, i)]);
	do
	:: ws[CH((i + 1) % N, i)] == 0 && ws[CH((i + 2) % N, i)] == 0 -> break
	:: else ->
		if
		:: ws[CH((i + 1) % N, i)] > 0 -> sd = (i + 1) % N
		:: ws[CH((i + 2) % N, i)] > 0 -> sd = (i + 2) % N
		fi;
		ws[CH(sd, i)]--;
		c[CH(sd, i)]?mtype_, msrc, mrole, mterm, mtarget, mage, mnocl;
		act = 0;
		on_packet(i);
		do_actions(i)
	od
}

/* the overdue timers on waking: tick_cb, resign_cb and hb_cb (when due),
 * which count for this round */
inline wake_timers(i) {
	act = 0;
	el_tick(i);
	if :: rcop[i] > 0 -> rcop[i]--; act = act | A_RESIGN :: else -> skip fi;
	ticked[i] = 1;
	if :: hbdue(i) -> act = act | A_HB; hbsent[i] = 1 :: else -> skip fi;
	do_actions(i)
}

inline dec(v) { if :: v > 0 -> v-- :: else -> skip fi }
inline inc(v, m) { if :: v < m -> v++ :: else -> skip fi }

/* invariant 1, checked at the end of each round: of two nodes that heard
 * each other undisturbed (no cut, no lost packet between them) during the
 * last SETTLE ticks and this one, at most one ran a broker at any moment of
 * this tick.  A frozen or crashed node is no excuse: its packets wait in its
 * socket, and its broker counts until the fence stops it (brk() below).
 * "At some moment" is order-independent, and stricter than "both at the
 * same moment". */
/* brk(i): node i's broker runs: it is master and (the fence) its last
 * heartbeat as master is at most timeout - delay old */
#ifndef BUG_NO_SEND_GAP
#define brk(i) (st[i] == MASTER && sgap[i] <= GAP)
#else
#define brk(i) (st[i] == MASTER)
#endif
#define settled_masters(a, b) (conn[PAIR(a, b)] >= SETTLE && wasm[a] && wasm[b])
#define inv1 (!settled_masters(0, 1) && !settled_masters(0, 2) && !settled_masters(1, 2))

inline pair_clock(a, b) {
	if
	:: iso[a] || iso[b] -> conn[PAIR(a, b)] = 0
	:: else -> inc(conn[PAIR(a, b)], SETTLE)
	fi
}

inline advance(i) {    /* one tick passes */
	j = 0;
	do
	:: j < N ->
		if :: page[PI(i, j)] < T -> page[PI(i, j)]++ :: else -> skip fi;
		if :: page[PI(i, j)] >= T -> pmaster[PI(i, j)] = 0; pslave[PI(i, j)] = 0; pcand[PI(i, j)] = 0; pnocl[PI(i, j)] = 0 :: else -> skip fi;
		j++
	:: else -> break
	od;
	inc(mseen[i], MSMAX);
	inc(mheard[i], T);
	inc(slost[i], SLMAX);
	dec(listen[i]);
	dec(claimc[i]);
	if :: rs[i] > 1 -> rs[i]-- :: else -> skip fi;
	/* pending_claim_until: counts down, then its age counts up */
	if
	:: pend[i] > 1 -> pend[i]--
	:: pend[i] == 1 -> pend[i] = 0; spend[i] = 0
	:: else -> inc(spend[i], SLMAX)
	fi;
	dec(hold[i]);
	dec(favc[i]);
	if :: qlost[i] > 0 -> inc(qlost[i], T + 1) :: else -> skip fi;
	if
	:: hbph[i] == 0 && hbsent[i] -> hbph[i] = D - 1
	:: hbph[i] > 0 -> hbph[i]--
	:: else -> skip    /* overdue while frozen: fires on waking */
	fi;
	hbsent[i] = 0;
	ticked[i] = 0;
	if :: frozen[i] -> inc(fz[i], T) :: else -> skip fi;
	/* the send gap, and the fence: the broker of a master runs until
	 * timeout - delay after its last heartbeat */
	inc(sgap[i], SGMAX);
	if :: st[i] != MASTER -> sgap[i] = SGMAX :: else -> skip fi;
	/* one value for what the code will not read again */
	if :: mst[i] == NONE || mst[i] == i -> mseen[i] = MSMAX; mheard[i] = T :: else -> skip fi;
	if :: mst[i] != NONE -> slost[i] = 0 :: else -> skip fi;
	if :: favc[i] == 0 -> fav[i] = NONE :: else -> skip fi;
	if :: rcop[i] == 0 -> htarget[i] = NONE :: else -> skip fi
#ifdef QUORUM
	;
	if
	:: iso[i] && !frozen[i] -> inc(isot[i], T + T)
	:: else -> isot[i] = 0
	fi;
	/* invariant 4: a master cut off from the majority steps down within
	 * two timeouts (peers expire, then quorum is lost for one timeout) */
	assert(!(isot[i] >= T + T && st[i] == MASTER))
#endif
}

/* Terms are only compared and incremented, so shifting every term in the
 * system by the same amount changes nothing the nodes do: between rounds,
 * with no packet in flight, the lowest term in use is made 1 (0 stays
 * below every term: no master, no claim, no vote).  Without this, every
 * election would make a fresh copy of the state space. */
#define inflight (len(c[0]) + len(c[1]) + len(c[2]) + len(c[3]) + len(c[4]) + len(c[5]))
inline lowest(i) {
	if :: maxt[i] < mn -> mn = maxt[i] :: else -> skip fi;
	if :: mst[i] != NONE && term[i] < mn -> mn = term[i] :: else -> skip fi;
	if :: st[i] == CANDIDATE && cterm[i] < mn -> mn = cterm[i] :: else -> skip fi
}
inline shift(i) {
	maxt[i] = maxt[i] - mn;
	if :: mst[i] != NONE -> term[i] = term[i] - mn :: else -> skip fi;
	if :: st[i] == CANDIDATE -> cterm[i] = cterm[i] - mn :: else -> skip fi
#ifdef QUORUM
	/* a voted_term below every term in use compares like 0 with any claim
	 * now or later (claims take max_term + 1) */
	; vterm[i] = (vterm[i] > mn -> vterm[i] - mn : 0)
#endif
}
inline normalize() {
	if
	:: inflight == 0 ->
		mn = 255;
		lowest(0);
		lowest(1);
		lowest(2);
		if
		:: mn > 1 ->
			mn = mn - 1;
			shift(0);
			shift(1);
			shift(2)
#ifdef PER_TERM
			; promoted = promoted >> mn   /* later promotions take higher terms */
#endif
		:: else -> skip
		fi
	:: else -> skip
	fi
}

/* a pause ends: the node reads what waits in its socket, then runs its
 * overdue timers (issue 16, path 4a; with BUG_TIMER_FIRST the other way
 * round, as libev does).  Its first call finds a stall after a pause longer
 * than the timeout, and a master its send gap, before it sends anything */
inline wake(i) {
	frozen[i] = 0;
	stalled[i] = (fz[i] >= T);   /* now - last_call = ticks frozen + 1 > timeout */
	fz[i] = 0;
	waking[i] = 1;
	check_stall(i);
#ifndef BUG_TIMER_FIRST
	drain(i);
	wake_timers(i)
#else
	wake_timers(i);
	drain(i)
#endif
	;
	waking[i] = 0
}

inline init_node(i) {
	st[i] = LISTENING;
	listen[i] = T;
	term[i] = 0;
	mst[i] = NONE;
	mseen[i] = MSMAX;
	mheard[i] = T;
	slost[i] = 0;
	cterm[i] = 0;
	claimc[i] = 0;
	rs[i] = 0;
	pend[i] = 0;
	hold[i] = 0;
	fav[i] = NONE;
	favc[i] = 0;
	qlost[i] = 0;
#ifdef QUORUM
	voters[i] = 0;
#endif
	htarget[i] = NONE;
	spend[i] = SLMAX;
	rcop[i] = 0;
	hbsent[i] = 0;
	ticked[i] = 0;
	sgap[i] = SGMAX;
	j = 0;
	do
	:: j < N -> page[PI(i, j)] = ABSENT; pmaster[PI(i, j)] = 0; pslave[PI(i, j)] = 0; pcand[PI(i, j)] = 0; pnocl[PI(i, j)] = 0; j++
	:: else -> break
	od;
	if             /* the heartbeat timers start in any phase */
	:: hbph[i] = 0
	:: D > 1 -> hbph[i] = 1
	:: D > 2 -> hbph[i] = 2
	:: D > 3 -> hbph[i] = 3
	fi
}

/* a crash and a start (kill -9, then systemd starts it again), of a running
 * or a frozen node: what waits in its socket is gone, and of its state only
 * what it persisted before sending it survives: max_term and its vote (issue
 * 16, path 5).  It listens for one timeout again.  The broker of a master
 * dies with it (PR_SET_PDEATHSIG, launcher/broker/spawn.c), at the start of
 * the round */
inline restart(i) {
	restarts--;
	do
	:: nempty(c[CH((i + 1) % N, i)]) -> c[CH((i + 1) % N, i)]?mtype_, msrc, mrole, mterm, mtarget, mage, mnocl
	:: nempty(c[CH((i + 2) % N, i)]) -> c[CH((i + 2) % N, i)]?mtype_, msrc, mrole, mterm, mtarget, mage, mnocl
	:: empty(c[CH((i + 1) % N, i)]) && empty(c[CH((i + 2) % N, i)]) -> break
	od;
	frozen[i] = 0;
	fz[i] = 0;
	stalled[i] = 0;
#ifdef BUG_NO_PERSIST
	maxt[i] = 0;       /* (only its own master term was persisted) */
#ifdef QUORUM
	vterm[i] = 0;
#endif
#endif
	init_node(i);
	printf("MSC: n%d restarts, max_term %d\n", i, maxt[i])
}

#if INELIGIBLE > 0
/* the precheck's verdict changes: heartbeat.c's set_claimable(), applied
 * between two election calls */
inline flip_eligible(i) {
	inels--;
	inel[i] = 1 - inel[i];
	if
	:: inel[i] -> printf("MSC: n%d becomes ineligible\n", i)
	:: else -> printf("MSC: n%d becomes eligible\n", i)
	fi
}
#endif

#define letter(s) (s == MASTER -> 'M' : (s == CANDIDATE -> 'C' : (s == SLAVE -> 'S' : 'L')))

active proctype world()
{
	atomic {
		init_node(0);
		init_node(1);
		init_node(2);
		ph = 0
	}
end:	do
	:: atomic {
		(ph == 0 && !cut) || ph == 2 ->
		nd = 0;
		do
		:: nd < N -> node_timers(); nd++
		:: else -> break
		od;
		ph++
	   }
	:: atomic { ph == 1 -> deliver_all(); ph = 2 }
#if INELIGIBLE > 0 && defined(INEL_MIDROUND)
	/* a flip between a node's early and late steps of a round too */
	:: atomic { ph == 2 && inels > 0 -> if :: nd = 0 :: nd = 1 :: nd = 2 fi; flip_eligible(nd) }
#endif
	:: atomic {
		ph == 3 ->
		deliver_all();
		/* the round is over: check, the clock advances, then maybe one fault */
		tnow++;
		printf("MSC: == end of tick %d: n0 %c t%d max%d  n1 %c t%d max%d  n2 %c t%d max%d\n", tnow,
			letter(st[0]), term[0], maxt[0], letter(st[1]), term[1], maxt[1], letter(st[2]), term[2], maxt[2]);
		assert(inv1);   /* (with the state of the round just ended) */
		pair_clock(0, 1);
		pair_clock(0, 2);
		pair_clock(1, 2);
		advance(0);
		advance(1);
		advance(2);
		normalize();
		/* whose broker runs as the next round starts (a fault below may
		 * add a promotion) */
		wasm[0] = brk(0);
		wasm[1] = brk(1);
		wasm[2] = brk(2);
#ifdef MAXFZ
		/* pauses of at most MAXFZ ticks: the node wakes now */
		nd = 0;
		do
		:: nd < N ->
			if
			:: frozen[nd] && fz[nd] >= MAXFZ -> printf("MSC: n%d wakes\n", nd); wake(nd)
			:: else -> skip
			fi;
			nd++
		:: else -> break
		od;
#endif
		if
		:: skip
		:: if :: nd = 0 :: nd = 1 :: nd = 2 fi;
		   if
		   :: freezes > 0 && !frozen[nd] ->
			freezes--; frozen[nd] = 1; fz[nd] = 0; printf("MSC: n%d freezes\n", nd)
		   :: frozen[nd] -> printf("MSC: n%d wakes\n", nd); wake(nd)
		   :: restarts > 0 -> restart(nd); wasm[nd] = 0   /* its broker died with it */
		   :: parts > 0 && !iso[nd] -> parts--; iso[nd] = 1; disturb(nd); printf("MSC: n%d cut off\n", nd)
		   :: iso[nd] -> iso[nd] = 0; disturb(nd); printf("MSC: n%d healed\n", nd)
		   :: resigns > 0 && !frozen[nd] && st[nd] == MASTER -> resign_now(nd); wasm[nd] = 0; printf("MSC: n%d resigns\n", nd)
#if INELIGIBLE > 0
		   :: inels > 0 -> flip_eligible(nd)
#endif
		   :: else -> skip
		   fi
		fi;
		ph = 0
	   }
	od
}

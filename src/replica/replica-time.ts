/**
 * A replica's hold on time: the timer that ticks Raft while it is awake,
 * and its one alarm. Awake, the alarm is a watchdog that wakes the object
 * again after an eviction (production evicts idle objects even with a timer
 * pending) and restarts ticking. Quiet (see quiescence in
 * src/server/driver.ts), there is no timer and no watchdog, and only the
 * leader keeps an alarm, for its next TTL or lease expiry: nothing keeps
 * the object in memory or billed, and the next request or Raft message
 * wakes it. Apart from the replica so that what may keep an object awake
 * is in one place.
 */
import type { RaftDriver } from "../server/driver.ts";
import type { EntryResult } from "../server/state.ts";
import type { Usage } from "./usage.ts";

export const TICK_MS = 100;
/** The alarm re-arms itself this often while awake, to restart ticking after an eviction. */
const WATCHDOG_MS = 5000;

export interface ReplicaTimeHost {
  storage: DurableObjectStorage;
  usage: Usage;
  driver(): RaftDriver<EntryResult>;
  /** A removed member neither ticks nor keeps an alarm. */
  removed(): boolean;
  /** The leader's next duty in time (a TTL key or a lease to expire), or null. */
  nextDeadline(): number | null;
}

export class ReplicaTime {
  private ticker: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly host: ReplicaTimeHost) {}

  /** Whether the tick timer runs. */
  get ticking(): boolean {
    return this.ticker !== null;
  }

  startTicking(): void {
    if (this.ticker || this.host.removed()) return;
    this.ticker = setInterval(() => this.host.driver().tick(), TICK_MS);
    this.host.usage.ticking(Date.now());
  }

  stopTicking(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    this.host.usage.stopped(Date.now());
  }

  /** For good: a removed member. */
  stop(): void {
    this.stopTicking();
    void this.host.storage.deleteAlarm();
  }

  /** The driver went quiet or woke: the timer and the alarm follow. */
  quiescenceChanged(quiescent: boolean): void {
    if (quiescent) this.stopTicking();
    else this.startTicking();
    void this.armAlarm();
  }

  /**
   * The one alarm: the watchdog while awake; while quiet, the leader's next
   * deadline or none at all (each alarm is a billed request, and an object
   * with an alarm due is never forgotten).
   */
  async armAlarm(): Promise<void> {
    const { storage, usage } = this.host;
    if (this.host.removed()) return storage.deleteAlarm();
    const driver = this.host.driver();
    const due = !driver.quiescent ? Date.now() + WATCHDOG_MS : driver.role === "leader" ? this.host.nextDeadline() : null;
    if (due === null) return storage.deleteAlarm();
    usage.alarmSet();
    return storage.setAlarm(due);
  }

  /**
   * The alarm rang. Awake, the watchdog: restarts ticking after an
   * eviction, and re-arms. Quiet, the leader's deadline came: it wakes to
   * expire what is due, and goes quiet again afterwards.
   */
  async alarmRang(): Promise<void> {
    this.host.usage.alarm();
    const driver = this.host.driver();
    if (driver.quiescent) {
      if (driver.role === "leader") driver.wake();
    } else {
      this.startTicking();
    }
    await this.armAlarm();
  }
}

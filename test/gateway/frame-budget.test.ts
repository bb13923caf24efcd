import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameBudget } from '../../proxy/gateway/frame-budget.ts';

/** A side that sends frames: only whether it is being read matters here. */
function source() {
  return {
    OPEN: 1,
    readyState: 1,
    paused: false,
    pause() {
      this.paused = true;
    },
    resume() {
      this.paused = false;
    },
  };
}

test('held requests past half the budget stop their connection being read, until half of that share is left', () => {
  const budget = new FrameBudget(100);
  assert.equal(budget.heldLimitBytes, 50);
  const client = source();
  const giveBacks = [10, 20, 20].map((bytes) => budget.hold(bytes, client));
  assert.ok(!client.paused, 'at the share: still read');
  giveBacks.push(budget.hold(10, client));
  assert.equal(budget.held, 60);
  assert.ok(client.paused, 'past the share');
  assert.ok(!budget.mayRead(client), 'the relay may not resume it either');
  giveBacks[0]!();
  giveBacks[1]!();
  assert.ok(client.paused, '30 held: more than half of the share');
  giveBacks[2]!();
  giveBacks[2]!(); // idempotent
  assert.equal(budget.held, 10);
  assert.ok(!client.paused);
  assert.ok(budget.mayRead(client));
  giveBacks[3]!();
  assert.equal(budget.held, 0);
});

test('past the share, only a connection holding at least an equal share stops being read', () => {
  const budget = new FrameBudget(100);
  const flood = source();
  const other = source();
  const floodBacks = [budget.hold(45, flood)];
  budget.hold(10, other);
  assert.ok(!other.paused && !flood.paused, '55 held, neither holds the most past the share yet');
  floodBacks.push(budget.hold(5, flood));
  assert.ok(flood.paused, 'the flood holds 50 of 60');
  assert.ok(!other.paused, 'the other holds 10: it goes on being read (a flood never pauses another client)');
  budget.hold(20, other);
  assert.ok(other.paused, 'now it holds 30, more than an equal share (25)');
  for (const giveBack of floodBacks) giveBack();
  assert.ok(!flood.paused, 'what it held went to its kernel');
});

test('the frame budget reopening does not resume a connection paused for what it holds; closing forgets it', () => {
  const budget = new FrameBudget(100);
  const client = source();
  const inHand = budget.take(120, client);
  assert.ok(client.paused && !budget.open);
  const held = budget.hold(60, client);
  inHand();
  assert.ok(budget.open);
  assert.ok(client.paused, 'still holding past the share');
  const again = budget.take(150, source());
  held();
  assert.ok(client.paused, 'the budget is spent: resumed with the other senders once it reopens');
  again();
  assert.ok(!client.paused);

  const closing = source();
  const closingHeld = budget.hold(80, closing);
  assert.ok(closing.paused);
  budget.forget(closing);
  closing.readyState = 3;
  closingHeld();
  assert.equal(budget.held, 0, 'a closed connection gives back what it held');
});

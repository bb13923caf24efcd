// The few mocha globals @web/test-runner-mocha provides in the browser.
type MochaDone = (error?: unknown) => void;
type MochaFn = (this: unknown) => void | Promise<void>;
declare function describe(title: string, fn: (this: { timeout(ms: number): void }) => void): void;
declare function it(title: string, fn: MochaFn): void;
declare function before(fn: MochaFn): void;
declare function after(fn: MochaFn): void;
declare function beforeEach(fn: MochaFn): void;
declare function afterEach(fn: MochaFn): void;

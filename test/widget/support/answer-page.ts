import { captureDownloads, cleanup } from './widget.ts';

export interface AnswerPage {
  /** The answer's element, in the page during each test. */
  readonly answer: HTMLDivElement;
  /** The downloads started during the current test. */
  readonly downloads: ReturnType<typeof captureDownloads>['downloads'];
}

/**
 * A chat answer on the page, as a chat UI renders a model's markdown: `markup` is put in before
 * each test, and removed after it with every mounted element; downloads are captured meanwhile.
 * Call it at the top of a test file (it adds mocha's beforeEach and afterEach).
 */
export function useAnswerPage(markup: string): AnswerPage {
  const answer = document.createElement('div');
  let capture: ReturnType<typeof captureDownloads> | null = null;
  beforeEach(() => {
    capture = captureDownloads();
    answer.innerHTML = markup;
    document.body.append(answer);
  });
  afterEach(() => {
    capture?.restore();
    capture = null;
    answer.remove();
    cleanup();
  });
  return {
    answer,
    get downloads() {
      if (!capture) throw new Error('downloads are captured during a test only');
      return capture.downloads;
    },
  };
}

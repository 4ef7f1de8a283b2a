/** Rect: a pane's place on the screen, in cells. */
export interface Rect {
  top: number;
  left: number;
  width: number;
  height: number;
}

/** Layout: where each pane goes. Every pane's first line is its title bar. */
export interface Layout {
  header: Rect;
  list: Rect;
  detail: Rect;
  log: Rect;
  footer: Rect;
  /** tooSmall: below 40x12 nothing useful fits; the screen says so instead. */
  tooSmall: boolean;
  /** wide: the detail pane sits beside the list instead of below it. */
  wide: boolean;
}

const headerHeight = 3;

/**
 * computeLayout: stacked panes (list, detail, log) on ordinary terminals; from 140 columns, the list
 * and the detail side by side, which leaves the detail pane enough lines for a whole timeline.
 */
export function computeLayout(width: number, height: number): Layout {
  const tooSmall = width < 40 || height < 12;
  const header = { top: 0, left: 0, width, height: headerHeight };
  const footer = { top: Math.max(0, height - 1), left: 0, width, height: 1 };
  const body = Math.max(0, height - headerHeight - 1);
  const top = headerHeight;
  const wide = width >= 140 && body >= 20;
  if (wide) {
    const logHeight = Math.max(4, Math.floor(body * 0.25));
    const upper = body - logHeight;
    const listWidth = Math.floor(width * 0.5);
    return {
      header, footer, tooSmall, wide,
      list: { top, left: 0, width: listWidth, height: upper },
      detail: { top, left: listWidth, width: width - listWidth, height: upper },
      log: { top: top + upper, left: 0, width, height: logHeight },
    };
  }
  const listHeight = Math.max(3, Math.round(body * 0.36));
  const logHeight = Math.max(2, Math.round(body * 0.17));
  const detailHeight = Math.max(0, body - listHeight - logHeight);
  return {
    header, footer, tooSmall, wide,
    list: { top, left: 0, width, height: listHeight },
    detail: { top: top + listHeight, left: 0, width, height: detailHeight },
    log: { top: top + listHeight + detailHeight, left: 0, width, height: logHeight },
  };
}

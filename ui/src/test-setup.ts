// jsdom has no canvas: video tiles find no drawing context (and say so) instead of jsdom
// printing "not implemented" for each one.
HTMLCanvasElement.prototype.getContext = (() => null) as typeof HTMLCanvasElement.prototype.getContext;

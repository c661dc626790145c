// The subset of cornerstone-core 2.x the viewer uses (the package ships no types).
declare module 'cornerstone-core' {
  export interface Image {
    imageId: string;
    minPixelValue: number;
    maxPixelValue: number;
    slope: number;
    intercept: number;
    windowCenter: number;
    windowWidth: number;
    getPixelData(): ArrayLike<number>;
    rows: number;
    columns: number;
    height: number;
    width: number;
    color: boolean;
    rgba?: boolean;
    columnPixelSpacing: number;
    rowPixelSpacing: number;
    invert: boolean;
    sizeInBytes: number;
  }
  export interface Viewport {
    scale: number;
    translation: { x: number; y: number };
    voi: { windowWidth: number; windowCenter: number };
    invert: boolean;
    pixelReplication: boolean;
    rotation: number;
    hflip: boolean;
    vflip: boolean;
    colormap?: string | object;
  }
  export function enable(element: HTMLElement, options?: object): void;
  export function disable(element: HTMLElement): void;
  export function displayImage(element: HTMLElement, image: Image, viewport?: Partial<Viewport>): void;
  export function getViewport(element: HTMLElement): Viewport | undefined;
  export function setViewport(element: HTMLElement, viewport: Partial<Viewport>): void;
  export function getDefaultViewportForImage(element: HTMLElement, image: Image): Viewport;
  export function resize(element: HTMLElement, forceFitToWindow?: boolean): void;
  export function fitToWindow(element: HTMLElement): void;
  export function reset(element: HTMLElement): void;
  export function draw(element: HTMLElement): void;
  export function updateImage(element: HTMLElement, invalidated?: boolean): void;
  export function pageToPixel(element: HTMLElement, pageX: number, pageY: number): { x: number; y: number };
  export function pixelToCanvas(element: HTMLElement, pt: { x: number; y: number }): { x: number; y: number };
  export interface EnabledElement {
    element: HTMLElement;
    canvas: HTMLCanvasElement;
    image?: Image;
    viewport?: Viewport;
    needsRedraw: boolean;
    /** Cornerstone's per-element render cache; its render canvas is made again when unset. */
    renderingTools: { renderCanvas?: HTMLCanvasElement };
  }
  export function getEnabledElement(element: HTMLElement): EnabledElement;
  export function setToPixelCoordinateSystem(enabledElement: EnabledElement, context: CanvasRenderingContext2D, scale?: number): void;
  /** Render an element's image now (its own animation-frame loop renders when `needsRedraw`, a frame later). */
  export function renderPseudoColorImage(enabledElement: EnabledElement, invalidated?: boolean): void;
  export function renderColorImage(enabledElement: EnabledElement, invalidated?: boolean): void;
  export function renderGrayscaleImage(enabledElement: EnabledElement, invalidated?: boolean): void;
  export const EVENTS: { IMAGE_RENDERED: string };
  export const colors: {
    getColormap(id: string, data?: { name: string; numOfColors?: number; colors: number[][] }): object;
    getColormapsList(): { id: string; name: string }[];
  };
}

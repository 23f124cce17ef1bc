/**
 * The vtk.js side of the 3D view: one render window in a container, surfaces per structure,
 * optional CT volume rendering, an orientation cube with LPS letters, standard views and
 * capture. Every `newInstance()` here is released in `dispose()` / when its prop is removed.
 * World coordinates are LPS mm (the contract's convention).
 */
import '@kitware/vtk.js/Rendering/OpenGL/Profiles/Geometry';
import '@kitware/vtk.js/Rendering/OpenGL/Profiles/Volume';
import vtkDataArray from '@kitware/vtk.js/Common/Core/DataArray';
import vtkImageData from '@kitware/vtk.js/Common/DataModel/ImageData';
import vtkPiecewiseFunction from '@kitware/vtk.js/Common/DataModel/PiecewiseFunction';
import vtkPolyData from '@kitware/vtk.js/Common/DataModel/PolyData';
import vtkOrientationMarkerWidget from '@kitware/vtk.js/Interaction/Widgets/OrientationMarkerWidget';
import vtkInteractorStyleTrackballCamera from '@kitware/vtk.js/Interaction/Style/InteractorStyleTrackballCamera';
import vtkActor from '@kitware/vtk.js/Rendering/Core/Actor';
import vtkAnnotatedCubeActor from '@kitware/vtk.js/Rendering/Core/AnnotatedCubeActor';
import vtkColorTransferFunction from '@kitware/vtk.js/Rendering/Core/ColorTransferFunction';
import vtkMapper from '@kitware/vtk.js/Rendering/Core/Mapper';
import vtkRenderWindow from '@kitware/vtk.js/Rendering/Core/RenderWindow';
import vtkRenderWindowInteractor from '@kitware/vtk.js/Rendering/Core/RenderWindowInteractor';
import vtkRenderer from '@kitware/vtk.js/Rendering/Core/Renderer';
import vtkVolume from '@kitware/vtk.js/Rendering/Core/Volume';
import vtkVolumeMapper from '@kitware/vtk.js/Rendering/Core/VolumeMapper';
import vtkOpenGLRenderWindow from '@kitware/vtk.js/Rendering/OpenGL/RenderWindow';
import type { Geometry, Mesh } from './surface.ts';
import type { VrPreset } from './presets.ts';

/** Diverging map for signed distances, [fraction of range, r, g, b]: inside (FN side) blue, outside (FP side) red. */
export const distanceColours: readonly [number, number, number, number][] = [
  [-1, 0.1, 0.25, 0.95], [-0.25, 0.95, 0.95, 0.95], [0.25, 0.95, 0.95, 0.95], [1, 0.9, 0.1, 0.1],
];

export type StandardView = 'anterior' | 'posterior' | 'left' | 'right' | 'superior' | 'inferior';

/** Camera direction of projection (from eye to focus) and view-up, LPS. */
const views: Record<StandardView, { dop: [number, number, number]; up: [number, number, number] }> = {
  anterior: { dop: [0, 1, 0], up: [0, 0, 1] },
  posterior: { dop: [0, -1, 0], up: [0, 0, 1] },
  left: { dop: [-1, 0, 0], up: [0, 0, 1] },
  right: { dop: [1, 0, 0], up: [0, 0, 1] },
  superior: { dop: [0, 0, -1], up: [0, -1, 0] },
  inferior: { dop: [0, 0, 1], up: [0, -1, 0] },
};

interface SurfaceProp {
  polyData: ReturnType<typeof vtkPolyData.newInstance>;
  normals: ReturnType<typeof vtkDataArray.newInstance>;
  scalars: ReturnType<typeof vtkDataArray.newInstance> | null;
  lut: ReturnType<typeof vtkColorTransferFunction.newInstance> | null;
  mapper: ReturnType<typeof vtkMapper.newInstance>;
  actor: ReturnType<typeof vtkActor.newInstance>;
}

interface VolumeProp {
  /** The voxels it was built from (identity decides when to rebuild). */
  source: unknown;
  image: ReturnType<typeof vtkImageData.newInstance>;
  scalars: ReturnType<typeof vtkDataArray.newInstance>;
  mapper: ReturnType<typeof vtkVolumeMapper.newInstance>;
  volume: ReturnType<typeof vtkVolume.newInstance>;
  ctf: ReturnType<typeof vtkColorTransferFunction.newInstance>;
  pwf: ReturnType<typeof vtkPiecewiseFunction.newInstance>;
}

export class Scene3D {
  readonly renderWindow = vtkRenderWindow.newInstance();
  readonly renderer = vtkRenderer.newInstance({ background: [0.02, 0.03, 0.05] });
  readonly glWindow = vtkOpenGLRenderWindow.newInstance();
  readonly interactor = vtkRenderWindowInteractor.newInstance();
  readonly #style = vtkInteractorStyleTrackballCamera.newInstance();
  readonly #cube = vtkAnnotatedCubeActor.newInstance();
  readonly #marker: ReturnType<typeof vtkOrientationMarkerWidget.newInstance>;
  readonly #surfaces = new Map<string, SurfaceProp>();
  #volume: VolumeProp | null = null;
  #cursor: { lines: ReturnType<typeof vtkPolyData.newInstance>; mapper: ReturnType<typeof vtkMapper.newInstance>; actor: ReturnType<typeof vtkActor.newInstance> } | null = null;
  #container: HTMLElement;

  constructor(container: HTMLElement) {
    this.#container = container;
    this.renderWindow.addRenderer(this.renderer);
    this.renderWindow.addView(this.glWindow);
    this.glWindow.setContainer(container);
    this.resize();
    this.interactor.setView(this.glWindow);
    this.interactor.initialize();
    this.interactor.bindEvents(container);
    // vtk.js makes the container a tab stop; the viewport around it already is one (keys: slices,
    // maximise), so the canvas is reached by pointer only and gets a name for assistive tech.
    container.tabIndex = -1;
    container.setAttribute('aria-label', '3D view: drag to rotate, scroll to zoom');
    this.interactor.setInteractorStyle(this.#style);
    // LPS: +x Left, +y Posterior, +z Superior.
    this.#cube.setDefaultStyle({ fontStyle: 'bold', fontFamily: 'Arial', fontColor: 'black', faceColor: '#9fb3c8', edgeThickness: 0.05, edgeColor: 'black', resolution: 256 });
    // Face rotations as vtk.js's 'lps' preset has them: every letter upright when superior is up
    // (the anterior, posterior and lateral views), e.g. the L of the left lateral view.
    this.#cube.setXPlusFaceProperty({ text: 'L', faceRotation: 90 });
    this.#cube.setXMinusFaceProperty({ text: 'R', faceRotation: -90 });
    this.#cube.setYPlusFaceProperty({ text: 'P', faceRotation: 180 });
    this.#cube.setYMinusFaceProperty({ text: 'A', faceRotation: 0 });
    this.#cube.setZPlusFaceProperty({ text: 'S', faceRotation: 0 });
    this.#cube.setZMinusFaceProperty({ text: 'I', faceRotation: 180 });
    this.#marker = vtkOrientationMarkerWidget.newInstance({ actor: this.#cube, interactor: this.interactor });
    this.#marker.setEnabled(true);
    this.#marker.setViewportCorner(vtkOrientationMarkerWidget.Corners.BOTTOM_RIGHT);
    this.#marker.setViewportSize(0.18);
    this.#marker.setMinPixelSize(64);
    this.#marker.setMaxPixelSize(140);
  }

  resize(): void {
    const r = this.#container.getBoundingClientRect();
    this.glWindow.setSize(Math.max(1, Math.floor(r.width)), Math.max(1, Math.floor(r.height)));
  }

  render(): void {
    this.renderWindow.render();
  }

  /**
   * Adds or replaces the surface `key`. With `distance`, the surface is coloured by it (mm):
   * blue −range … white 0 … red +range (see distanceColours), instead of its structure colour.
   */
  setSurface(key: string, mesh: Mesh, distance?: { values: Float32Array; range: number }): void {
    this.removeSurface(key);
    const polyData = vtkPolyData.newInstance();
    polyData.getPoints().setData(mesh.points, 3);
    const nt = mesh.triangles.length / 3;
    const cells = new Uint32Array(4 * nt);
    for (let t = 0; t < nt; t++) {
      cells[4 * t] = 3;
      cells[4 * t + 1] = mesh.triangles[3 * t];
      cells[4 * t + 2] = mesh.triangles[3 * t + 1];
      cells[4 * t + 3] = mesh.triangles[3 * t + 2];
    }
    polyData.getPolys().setData(cells);
    const normals = vtkDataArray.newInstance({ name: 'Normals', numberOfComponents: 3, values: mesh.normals });
    polyData.getPointData().setNormals(normals);
    const mapper = vtkMapper.newInstance({ scalarVisibility: false });
    mapper.setInputData(polyData);
    let lut: SurfaceProp['lut'] = null, scalars: SurfaceProp['scalars'] = null;
    if (distance) {
      scalars = vtkDataArray.newInstance({ name: 'Distance', numberOfComponents: 1, values: distance.values });
      polyData.getPointData().setScalars(scalars);
      lut = vtkColorTransferFunction.newInstance();
      for (const [t, r, g, b] of distanceColours) lut.addRGBPoint(t * distance.range, r, g, b);
      mapper.setLookupTable(lut);
      mapper.setScalarRange(-distance.range, distance.range);
      mapper.setScalarVisibility(true);
      mapper.setColorModeToMapScalars();
      mapper.setScalarModeToUsePointData();
    }
    const actor = vtkActor.newInstance();
    actor.setMapper(mapper);
    actor.getProperty().setSpecular(0.2);
    actor.getProperty().setSpecularPower(20);
    this.renderer.addActor(actor);
    this.#surfaces.set(key, { polyData, normals, scalars, lut, mapper, actor });
  }

  hasSurface(key: string): boolean {
    return this.#surfaces.has(key);
  }

  /** Colour (0..1 RGB), opacity and visibility of a surface. */
  styleSurface(key: string, colour: readonly number[], opacity: number, visible: boolean): void {
    const s = this.#surfaces.get(key);
    if (!s) return;
    const p = s.actor.getProperty();
    p.setColor(colour[0], colour[1], colour[2]);
    p.setOpacity(opacity);
    s.actor.setVisibility(visible && opacity > 0);
  }

  /**
   * Keeps a surface behind the ones it coincides with (the whole with its parts): only its far
   * side is drawn (front faces culled), pushed back further by a polygon offset, so where a part
   * lies on it the part is drawn and nothing z-fights; where no part is, the whole still shows.
   * (The whole is translucent by default, and translucent surfaces ignore a depth offset alone.)
   */
  setBehind(key: string, behind: boolean): void {
    const sp = this.#surfaces.get(key);
    if (!sp) return;
    const m = sp.mapper;
    sp.actor.getProperty().setFrontfaceCulling(behind);
    // The offset is added to the fragment depth (vtk.js: z + factor·slope + 1.6e-5·units); the
    // whole's surface lies up to about a voxel from its parts', so it needs a generous one.
    m.setResolveCoincidentTopology(behind ? 1 : 0);
    m.setRelativeCoincidentTopologyPolygonOffsetParameters(behind ? 8 : 0, behind ? 200 : 0);
  }

  /** Moves a surface by `offset` mm (side-by-side compare); [0, 0, 0] puts it back. */
  offsetSurface(key: string, offset: readonly number[]): void {
    this.#surfaces.get(key)?.actor.setPosition(offset[0], offset[1], offset[2]);
  }

  removeSurface(key: string): void {
    const s = this.#surfaces.get(key);
    if (!s) return;
    this.renderer.removeActor(s.actor);
    s.actor.delete();
    s.mapper.delete();
    s.polyData.delete();
    s.normals.delete();
    s.scalars?.delete();
    s.lut?.delete();
    this.#surfaces.delete(key);
  }

  surfaceKeys(): string[] {
    return [...this.#surfaces.keys()];
  }

  /** CT volume rendering (null removes it). `shaded` uses gradient lighting (slow in software GL). */
  setVolume(ct: { geometry: Geometry; data: ArrayLike<number> & { length: number } } | null, preset: VrPreset | null, shaded: boolean): void {
    // Another case's CT (or none wanted): free the old texture and image first.
    if (!ct || !preset || (this.#volume && this.#volume.source !== ct.data)) this.#releaseVolume();
    if (!ct || !preset) return;
    if (!this.#volume) {
      const image = vtkImageData.newInstance();
      image.setDimensions(ct.geometry.dims);
      image.setSpacing(ct.geometry.spacing);
      image.setOrigin(ct.geometry.origin);
      // vtk.js keeps the direction column-major (gl-matrix); the contract's is row-major.
      const d = ct.geometry.direction;
      image.setDirection(Float32Array.from([d[0], d[3], d[6], d[1], d[4], d[7], d[2], d[5], d[8]]));
      const scalars = vtkDataArray.newInstance({ name: 'CT', numberOfComponents: 1, values: ct.data as unknown as Float32Array });
      image.getPointData().setScalars(scalars);
      const mapper = vtkVolumeMapper.newInstance();
      mapper.setInputData(image);
      const volume = vtkVolume.newInstance();
      volume.setMapper(mapper);
      const ctf = vtkColorTransferFunction.newInstance();
      const pwf = vtkPiecewiseFunction.newInstance();
      volume.getProperty().setRGBTransferFunction(0, ctf);
      volume.getProperty().setScalarOpacity(0, pwf);
      volume.getProperty().setInterpolationTypeToLinear();
      this.renderer.addVolume(volume);
      this.#volume = { source: ct.data, image, scalars, mapper, volume, ctf, pwf };
    }
    const v = this.#volume;
    v.ctf.removeAllPoints();
    for (const [hu, r, g, b] of preset.colours) v.ctf.addRGBPoint(hu, r, g, b);
    v.pwf.removeAllPoints();
    for (const [hu, a] of preset.opacity) v.pwf.addPoint(hu, a);
    const prop = v.volume.getProperty();
    prop.setShade(shaded);
    prop.setAmbient(0.2);
    prop.setDiffuse(0.7);
    prop.setSpecular(0.3);
    const minSpacing = Math.min(...ct.geometry.spacing);
    // Unshaded: coarser rays and half-resolution image (measured ~0.35 s/frame at 512² in SwiftShader).
    v.mapper.setSampleDistance(minSpacing * (shaded ? 0.7 : 1));
    v.mapper.setImageSampleDistance(shaded ? 1 : 2);
    v.mapper.setMaximumSamplesPerRay(2000);
  }

  #releaseVolume(): void {
    const v = this.#volume;
    if (!v) return;
    this.renderer.removeVolume(v.volume);
    v.volume.delete();
    v.mapper.delete();
    v.ctf.delete();
    v.pwf.delete();
    v.image.delete();
    v.scalars.delete();
    this.#volume = null;
  }

  /**
   * The linked cursor at `world` (LPS mm) as three yellow lines along x, y, z, `half` mm each
   * way (lines, not a marker, so it stays visible when the point is inside a bone); null hides it.
   */
  setCursor(world: readonly number[] | null, half = 40): void {
    if (!world) {
      this.#cursor?.actor.setVisibility(false);
      return;
    }
    if (!this.#cursor) {
      const lines = vtkPolyData.newInstance();
      lines.getLines().setData(Uint32Array.from([2, 0, 1, 2, 2, 3, 2, 4, 5]));
      const mapper = vtkMapper.newInstance({ scalarVisibility: false });
      mapper.setInputData(lines);
      const actor = vtkActor.newInstance();
      actor.setMapper(mapper);
      actor.getProperty().setColor(1, 0.92, 0.23);
      actor.getProperty().setLineWidth(2);
      actor.getProperty().setLighting(false);
      actor.setPickable(false);
      this.renderer.addActor(actor);
      this.#cursor = { lines, mapper, actor };
    }
    const [x, y, z] = world;
    const pts = Float32Array.from([x - half, y, z, x + half, y, z, x, y - half, z, x, y + half, z, x, y, z - half, x, y, z + half]);
    this.#cursor.lines.getPoints().setData(pts, 3);
    this.#cursor.lines.modified();
    this.#cursor.actor.setVisibility(true);
  }

  resetCamera(): void {
    this.standardView('anterior');
  }

  /** Fits the camera to what is visible without changing its direction. */
  resetCameraKeepView(): void {
    this.renderer.resetCamera();
    this.renderer.resetCameraClippingRange();
  }

  standardView(name: StandardView): void {
    const cam = this.renderer.getActiveCamera();
    const { dop, up } = views[name];
    cam.setFocalPoint(0, 0, 0);
    cam.setPosition(-dop[0], -dop[1], -dop[2]);
    cam.setViewUp(up[0], up[1], up[2]);
    this.renderer.resetCamera();
    this.renderer.resetCameraClippingRange();
    this.#marker.updateMarkerOrientation();
  }

  azimuth(deg: number): void {
    this.renderer.getActiveCamera().azimuth(deg);
    this.renderer.resetCameraClippingRange();
    this.#marker.updateMarkerOrientation();
  }

  /** Renders and reads the frame back (RGBA rows bottom-up), synchronously. */
  readPixels(): { width: number; height: number; data: Uint8Array } {
    this.render();
    const [w, h] = this.glWindow.getSize();
    return { width: w, height: h, data: this.glWindow.getPixelData(0, 0, w - 1, h - 1) };
  }

  /** A PNG data URL of the next frame. */
  async capture(): Promise<string> {
    const [p] = this.renderWindow.captureImages('image/png');
    this.render();
    return p;
  }

  /** True on a software rasteriser (SwiftShader, llvmpipe): shaded volume rendering is ~5 s a frame there. */
  softwareGL(): boolean {
    const gl = this.glWindow.getCanvas()?.getContext('webgl2');
    if (!gl) return true;
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    const name = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    return /swiftshader|llvmpipe|software|softpipe/i.test(name);
  }

  contextLost(): boolean {
    const c = this.glWindow.getCanvas();
    const gl = c?.getContext('webgl2');
    return !gl || gl.isContextLost();
  }

  dispose(): void {
    for (const k of [...this.#surfaces.keys()]) this.removeSurface(k);
    this.#releaseVolume();
    if (this.#cursor) {
      this.renderer.removeActor(this.#cursor.actor);
      this.#cursor.actor.delete();
      this.#cursor.mapper.delete();
      this.#cursor.lines.delete();
      this.#cursor = null;
    }
    this.#marker.setEnabled(false);
    this.#marker.delete();
    this.#cube.delete();
    this.interactor.unbindEvents();
    this.interactor.delete();
    this.#style.delete();
    this.renderWindow.removeRenderer(this.renderer);
    this.renderer.delete();
    this.renderWindow.removeView(this.glWindow);
    this.glWindow.delete();
    this.renderWindow.delete();
  }
}

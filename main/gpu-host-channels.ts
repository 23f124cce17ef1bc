/** The two IPC channels between the GPU host page's preload and main (one definition for both). */
export const GPU_HOST_TO_PAGE = 'osteon:gpu-host:to-page';
export const GPU_HOST_FROM_PAGE = 'osteon:gpu-host:from-page';

/** A scan file's name without its format extension (.nii.gz, .nii, .dcm): the stem of files saved beside it. */
export const sourceStem = (name: string): string => name.replace(/\.(nii\.gz|nii|dcm)$/i, '');
